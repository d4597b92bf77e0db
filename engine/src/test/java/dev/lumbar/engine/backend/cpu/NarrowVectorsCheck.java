package dev.lumbar.engine.backend.cpu;

import dev.lumbar.engine.backend.cpu.CpuBackend.GemmChoice;
import jdk.incubator.vector.FloatVector;

/**
 * Runs the kernels' edge-shape checks in this JVM, whatever its vector width, and prints the
 * float lanes per vector then {@code ok}: the child process of {@link NarrowVectorsTest},
 * started with narrower vectors than the machine has. A failed check ends it with the
 * assertion's message and a non-zero exit.
 */
public final class NarrowVectorsCheck {

    private NarrowVectorsCheck() {
    }

    public static void main(String[] args) {
        System.out.println("lanes " + FloatVector.SPECIES_PREFERRED.length());
        new EdgeShapesTest().channelBlockedDepthwise(GemmChoice.JAVA);
        // with 8 lanes, 7×7 over rows wider than 16 pixels takes the three-row kernel
        new CpuBackendTest().depthwiseConvolutionsMatchReference(GemmChoice.JAVA, 2);
        PixelProductsTest products = new PixelProductsTest();
        products.pointwiseAndGatedConvolutionsMatchReference();
        products.channelMlpMatchesReference();
        products.windowedConvolutionsMatchReference();
        PointwiseStripsFuzzTest strips = new PointwiseStripsFuzzTest();
        strips.plainAndGatedProductsGiveTheSameBits();
        strips.inputsOverHeapAndMisalignedMemory();
        GateProductsTest gates = new GateProductsTest();
        gates.gateMatchesTheReferenceWithTheSameBitsOnAnyThreads();
        gates.closedUploadedGateWeightIsRefused();
        new ChannelLayerNormTest().fourVectorRunsGiveTheBitsOfOneVectorAtATime();
        new NormalizedChannelMlpTest()
                .normalizingAsThePixelsArePackedGivesTheBitsOfTheSeparateCalls();
        PooledDepthwiseTest pooled = new PooledDepthwiseTest();
        pooled.pooledOnTheWayOutGivesTheBitsOfAPoolAfterwards();
        pooled.unalignedPlanesMatchTheReferenceWithTheSameBitsOnAnyThreads();
        PixelProductsEdgeTest.backends();
        try {
            PixelProductsEdgeTest edges = new PixelProductsEdgeTest();
            edges.pointwiseAcrossImagesOnEdgeShapes();
            edges.windowedOnEdgeShapes();
            edges.channelMlpOnEdgeShapes();
            edges.smallPlaneDepthwiseOnEdgeShapes();
        } finally {
            PixelProductsEdgeTest.close();
        }
        FusedEpilogueEdgeTest.backends();
        try {
            FusedEpilogueEdgeTest epilogues = new FusedEpilogueEdgeTest();
            epilogues.residualAddedOnTheWayOutOnEdgeShapes();
            epilogues.residualWithSpecialValues();
            epilogues.residualThatIsTheInput();
            epilogues.activationRunsGiveEachElementTheBitsItGetsAlone();
            epilogues.tileEpilogueGivesTheBitsOfTheRunEpilogue();
            epilogues.averagePoolOnEdgeShapes();
            epilogues.averagePoolOverEmptyPlanes();
            epilogues.closedUploadedWeightIsRefused();
        } finally {
            FusedEpilogueEdgeTest.close();
        }
        PaddedConvolutionEdgeTest.pools();
        try {
            PaddedConvolutionEdgeTest padded = new PaddedConvolutionEdgeTest();
            padded.edgeShapesGiveThePackedBitsWithEveryActivation();
            padded.backendCallsGiveTheBitsOfTheDirectPath();
            padded.residualThatIsTheInput();
            padded.specialValuesGiveThePackedBits();
            padded.oneNaNPixelReachesOnlyTheOutputsOverIt();
            padded.aCopyLeftFullOfNaNLeaksNothing();
            padded.callsFromInsideAParallelLoop();
            padded.spilledStripsAddTheResidualOnceUnderContention();
            padded.theChoiceAtItsLimits();
        } finally {
            PaddedConvolutionEdgeTest.close();
        }
        WindowPackingEdgeTest.backends();
        try {
            WindowPackingEdgeTest windows = new WindowPackingEdgeTest();
            windows.strideOneWindowsOnEdgeShapes();
            windows.strideTwoWindowsOnEdgeShapes();
            windows.packedWindowsGiveThePaddedCopysBits();
            windows.nonFiniteEdgesReachOnlyTheirWindowsAndLeaveNothingBehind();
            windows.gatedPointwiseAcrossImagesOnEdgePlanes();
        } finally {
            WindowPackingEdgeTest.close();
        }
        WinogradTest.backends();
        try {
            WinogradTest winograd = new WinogradTest();
            winograd.onlyStrideOneThreeByThreeWithWholeTilesFullVectorsAndEnoughChannels();
            winograd.convolutionsMatchTheReferenceAndGiveTheSameBitsOnAnyThreadCount();
            winograd.eachImageGetsTheBitsItGetsAlone();
            winograd.theFusedBlockGivesItsTwoCallsBits();
            winograd.fewOutputsTakeTheDirectPath();
            winograd.aNanReachesTheOutputsWhoseWindowsHoldIt();
        } finally {
            WinogradTest.close();
        }
        new TransposesTest().transposesWithAnyStrideIntoAnyRows();
        // with 8 lanes the inverted residuals run channel-blocked, 8 channels a block (with 4,
        // as NCHW calls, which the checks above cover)
        if (Transposes.available()) {
            InvertedResidualTest residuals = new InvertedResidualTest();
            residuals.blockedBlocksMatchTheReferenceWithTheSameBitsOnAnyThreads();
            residuals.stridedBlocksRunBlockedAndMatchTheReference();
            residuals.uploadedWeightsAreKeptAndGiveTheSameBits();
            InvertedResidualEdgeTest residualEdges = new InvertedResidualEdgeTest();
            residualEdges.edgeShapesMatchReferenceAndNchw();
            residualEdges.nonFiniteValuesGiveTheNchwCallsNanAndInfPattern();
            if (Transposes.LANES == 8) {
                residualEdges.channelCountsOfEightLaneBlocks();
            }
            StridedInvertedResidualEdgeTest strided = new StridedInvertedResidualEdgeTest();
            strided.batchesWhoseTilesStraddleImages();
            strided.channelCountsAtTheLimits();
            SiluMeansEdgeTest.open();
            try {
                new SiluMeansEdgeTest()
                        .smallPlanesAndOddBatchesMatchTheNchwCallsWithTheSameBitsOnAnyThreads();
            } finally {
                SiluMeansEdgeTest.close();
            }
        }
        System.out.println("ok");
    }
}
