package dev.samplenorm.kernels;

import java.util.Arrays;
import java.util.Objects;

/**
 * Per-channel means and biased variances, in double precision, held on the Java heap.
 * With {@link StatsScope#BATCH} there is one value per channel; with {@link StatsScope#SAMPLE}
 * one per (sample, channel), stored at {@code sample * channels + channel}. Statistics of images
 * are in pixel units and image channel order.
 */
public final class ChannelStats {

    private final StatsScope scope;
    private final int samples;
    private final int channels;
    private final double[] mean;
    private final double[] variance;

    /**
     * @param samples the batch size N the statistics were taken over
     * @param mean {@code channels} values (batch scope) or {@code samples * channels} (sample scope)
     */
    public ChannelStats(StatsScope scope, int samples, int channels, double[] mean, double[] variance) {
        this.scope = Objects.requireNonNull(scope, "scope");
        if (samples < 1 || channels < 1) {
            throw new IllegalArgumentException("expected samples >= 1 and channels >= 1, got " + samples + " and " + channels);
        }
        int expected = scope == StatsScope.BATCH ? channels : samples * channels;
        Objects.requireNonNull(mean, "mean");
        Objects.requireNonNull(variance, "variance");
        if (mean.length != expected || variance.length != expected) {
            throw new IllegalArgumentException("expected " + expected + " means and variances for scope " + scope + " with "
                    + samples + " samples and " + channels + " channels, got " + mean.length + " and " + variance.length);
        }
        for (double v : variance) {
            if (v < 0) {
                throw new IllegalArgumentException("variances must be >= 0, got " + v);
            }
        }
        this.samples = samples;
        this.channels = channels;
        this.mean = mean.clone();
        this.variance = variance.clone();
    }

    public StatsScope scope() {
        return scope;
    }

    public int samples() {
        return samples;
    }

    public int channels() {
        return channels;
    }

    /** Number of (mean, variance) pairs: C or N * C. */
    public int size() {
        return mean.length;
    }

    /** Mean for {@code sample} (ignored under batch scope) and {@code channel}. */
    public double mean(int sample, int channel) {
        return mean[index(sample, channel)];
    }

    /** Biased variance for {@code sample} (ignored under batch scope) and {@code channel}. */
    public double variance(int sample, int channel) {
        return variance[index(sample, channel)];
    }

    /** A copy of the means in storage order. */
    public double[] means() {
        return mean.clone();
    }

    /** A copy of the variances in storage order. */
    public double[] variances() {
        return variance.clone();
    }

    double[] meansUnsafe() {
        return mean;
    }

    double[] variancesUnsafe() {
        return variance;
    }

    private int index(int sample, int channel) {
        Objects.checkIndex(sample, samples);
        Objects.checkIndex(channel, channels);
        return scope == StatsScope.BATCH ? channel : sample * channels + channel;
    }

    @Override
    public String toString() {
        return "ChannelStats{" + scope + ", N=" + samples + ", C=" + channels + ", mean=" + Arrays.toString(mean)
                + ", variance=" + Arrays.toString(variance) + "}";
    }
}
