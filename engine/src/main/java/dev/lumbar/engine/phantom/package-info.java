/**
 * A synthetic lumbar study for tests and the demo: a spine drawn from simple shapes, sampled into
 * a sagittal T1, a sagittal T2 and an axial T2 series (one tilted stack per disc) at the geometry
 * of a real protocol, written as Part 10 files in explicit VR little endian with the ground truth
 * of every level and target beside them.
 *
 * <p>Everything follows from the seed: the same options give byte-identical files. The patient
 * tags are fake and configurable so that tests can plant canaries and prove they never leak.
 */
package dev.lumbar.engine.phantom;
