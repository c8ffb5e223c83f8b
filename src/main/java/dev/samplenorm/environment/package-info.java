/**
 * What this process can run on: {@link dev.samplenorm.environment.Environment#current()} probes
 * samplenorm's native kernels, OpenCV's build and CUDA devices and OpenCV DNN's CUDA backend once,
 * and resolves a requested {@link dev.samplenorm.Device} (auto, cpu, cuda:N) against them.
 * {@link dev.samplenorm.environment.ThreadPriority} lowers the OS priority of single threads (Linux
 * nice values), for compute threads that should yield to a server's I/O threads. Above the
 * kernels, below the generator: nothing here imports the generator or the command line.
 */
package dev.samplenorm.environment;
