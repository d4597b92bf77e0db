/**
 * timm image encoders: ConvNeXt (atto … xlarge) and EfficientNet (B0–B7, their {@code tf_}
 * ports, EfficientNetV2 S/M/L and RW-S), built from the architecture name with
 * {@link dev.lumbar.engine.model.backbone.Backbones#create} and run on any
 * {@link dev.lumbar.engine.backend.Backend}.
 *
 * <p>Contract: a backbone computes what {@code timm.create_model(arch, num_classes=K,
 * in_chans=C)} computes in eval mode, and reads the same state-dict names (without the model
 * card's prefix). Parity is checked against golden outputs of float64 PyTorch modules written
 * after timm's source ({@code weights/tools/make_backbone_fixtures.py}).
 *
 * <p>Invariants: activations are NCHW F32 on the backend's device; weights are uploaded once by
 * {@code load}, BatchNorm folded into the preceding convolution, and owned by the backbone
 * until {@code close}. Forwards allocate their temporaries through the backend and close each
 * as soon as the next step has consumed it; the caller owns the returned tensor.
 */
package dev.lumbar.engine.model.backbone;
