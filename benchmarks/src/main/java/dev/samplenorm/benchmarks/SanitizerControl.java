package dev.samplenorm.benchmarks;

import dev.samplenorm.global.samplenorm;

/**
 * The positive control of {@code benchmarks/run-sanitizers.sh}: calls the native statistics kernel
 * directly, bypassing the Java checks, with a plane of 4096 values over an array of 16. Under
 * AddressSanitizer the over-read must be reported; without it the call may well pass unnoticed,
 * which is the point of running the kernel tests under the sanitizers.
 */
public final class SanitizerControl {

    private SanitizerControl() {}

    public static void main(String[] args) {
        float[] tooShort = new float[16];
        double[] mean = new double[1], var = new double[1];
        samplenorm.blob_stats(tooShort, 64 * Float.BYTES, 1, 1, 64, 64, 0, mean, var);
        System.out.println("no sanitizer report: mean " + mean[0]);
    }
}
