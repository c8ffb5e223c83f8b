/**
 * What this process can run on: {@link dev.samplenorm.environment.Environment#current()} probes
 * samplenorm's native kernels, OpenCV's build and CUDA devices and OpenCV DNN's CUDA backend once,
 * and resolves a requested {@link dev.samplenorm.Device} (auto, cpu, cuda:N) against them. Above the
 * kernels, below the generator: nothing here imports the generator or the command line.
 */
package dev.samplenorm.environment;
