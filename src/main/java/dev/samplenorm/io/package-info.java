/**
 * File formats of the tools around the generator: NumPy {@code .npy} arrays of float32 or float64
 * values ({@link dev.samplenorm.io.Npy}, {@link dev.samplenorm.io.NpyArray}), the format of the
 * golden reference outputs and of blob inputs and outputs on the command line. The statistics
 * modes themselves are described in {@code dev.samplenorm.onnx} and {@code dev.samplenorm.generator}.
 */
package dev.samplenorm.io;
