package dev.samplenorm.kernels;

import java.util.Arrays;
import java.util.Objects;

/**
 * A fixed per-channel mapping between 8-bit pixels and blob values:
 * {@code blob = (pixel * scale - mean[j]) / std[j]}, with {@code mean} and {@code std} in scaled
 * units and image channel order (one value for all channels, or one per channel).
 */
public record PixelMapping(double scale, double[] mean, double[] std) {

    /** Pixels in [0, 255] to [-1, 1], the range of a Tanh generator: {@code p / 127.5 - 1}. */
    public static PixelMapping symmetric() {
        return new PixelMapping(1.0 / 127.5, new double[] {1.0}, new double[] {1.0});
    }

    /** Pixels in [0, 255] to [0, 1]. */
    public static PixelMapping unit() {
        return new PixelMapping(1.0 / 255.0, new double[] {0.0}, new double[] {1.0});
    }

    public PixelMapping {
        Checks.scale(scale);
        Objects.requireNonNull(mean, "mean");
        Objects.requireNonNull(std, "std");
        if (mean.length == 0 || std.length == 0) {
            throw new IllegalArgumentException("mean and std need at least one value each");
        }
        for (double s : std) {
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("std values must be finite and > 0, got " + Arrays.toString(std));
            }
        }
        for (double m : mean) {
            if (!Double.isFinite(m)) {
                throw new IllegalArgumentException("mean values must be finite, got " + Arrays.toString(mean));
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** The same mapping as batch-scope statistics in pixel units, as the kernels take them. */
    ChannelStats asPixelStats(int channels) {
        double[] m = new double[channels];
        double[] v = new double[channels];
        for (int j = 0; j < channels; j++) {
            m[j] = pick(mean, j, channels, "mean") / scale;
            double s = pick(std, j, channels, "std") / scale;
            v[j] = s * s;
        }
        return new ChannelStats(StatsScope.BATCH, 1, channels, m, v);
    }

    private static double pick(double[] values, int j, int channels, String name) {
        if (values.length == 1) return values[0];
        if (values.length != channels) {
            throw new IllegalArgumentException(name + ": expected 1 or " + channels + " values, got " + values.length);
        }
        return values[j];
    }

    @Override
    public String toString() {
        return "PixelMapping{scale=" + scale + ", mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "}";
    }
}
