package dev.samplenorm.generator;

import dev.samplenorm.Device;
import dev.samplenorm.StatisticsMode;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How a {@link Generator} runs its model. Immutable; build with {@link #builder()}, e.g.
 * {@code GeneratorOptions.builder().statistics(StatisticsMode.BATCH).device(Device.cpu()).build()}.
 * Defaults: statistics {@link StatisticsMode#SAMPLE}, device auto, eps 1e-5, swapRB true,
 * {@link ResizePolicy#RESIZE}, dropout off.
 */
public final class GeneratorOptions {

    /** The eps that {@link StatisticsMode#INPUT} adds to the input variance by default (as BatchNorm does). */
    public static final double DEFAULT_EPS = 1e-5;

    private final StatisticsMode statistics;
    private final Device device;
    private final double eps;
    private final boolean swapRB;
    private final ResizePolicy resize;
    private final Long dropoutSeed;

    private GeneratorOptions(Builder b) {
        this.statistics = b.statistics;
        this.device = b.device;
        this.eps = b.eps;
        this.swapRB = b.swapRB;
        this.resize = b.resize;
        this.dropoutSeed = b.dropoutSeed;
    }

    /** All defaults. */
    public static GeneratorOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.statistics = statistics;
        b.device = device;
        b.eps = eps;
        b.swapRB = swapRB;
        b.resize = resize;
        b.dropoutSeed = dropoutSeed;
        return b;
    }

    public StatisticsMode statistics() {
        return statistics;
    }

    /** The requested device; empty means auto (CUDA where usable, else the CPU). */
    public Optional<Device> device() {
        return Optional.ofNullable(device);
    }

    /** The eps of {@link StatisticsMode#INPUT}'s input normalization. */
    public double eps() {
        return eps;
    }

    /**
     * Whether {@link Generator#translate} swaps the first and third channel between the images
     * (OpenCV reads BGR) and the model (trained on RGB). Default true.
     */
    public boolean swapRB() {
        return swapRB;
    }

    public ResizePolicy resize() {
        return resize;
    }

    /** The seed of test-time dropout; empty when dropout is off (the default). See {@link Builder#dropout(long)}. */
    public OptionalLong dropoutSeed() {
        return dropoutSeed == null ? OptionalLong.empty() : OptionalLong.of(dropoutSeed);
    }

    @Override
    public String toString() {
        return "GeneratorOptions{statistics=" + statistics.cliName() + ", device=" + (device == null ? "auto" : device) + ", eps=" + eps
                + ", swapRB=" + swapRB + ", resize=" + resize
                + ", dropout=" + (dropoutSeed == null ? "off" : "seed " + dropoutSeed) + "}";
    }

    public static final class Builder {
        private StatisticsMode statistics = StatisticsMode.SAMPLE;
        private Device device;
        private double eps = DEFAULT_EPS;
        private boolean swapRB = true;
        private ResizePolicy resize = ResizePolicy.RESIZE;
        private Long dropoutSeed;

        private Builder() {}

        public Builder statistics(StatisticsMode mode) {
            this.statistics = Objects.requireNonNull(mode, "statistics mode");
            return this;
        }

        /**
         * Run on {@code device}: {@link Device#cpu()} or a {@link Device#cuda(int)} device, which must
         * then be usable (else loading fails with {@code NO_CUDA_DEVICE}).
         */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /** Parses {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}. */
        public Builder device(String device) {
            Objects.requireNonNull(device, "device");
            if (device.trim().equalsIgnoreCase("auto")) return autoDevice();
            return device(Device.parse(device));
        }

        /** CUDA device 0 where OpenCV's CUDA backend and a device are usable, else the CPU. The default. */
        public Builder autoDevice() {
            this.device = null;
            return this;
        }

        public Builder eps(double eps) {
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("eps must be a finite number > 0, got " + eps);
            }
            this.eps = eps;
            return this;
        }

        public Builder swapRB(boolean swapRB) {
            this.swapRB = swapRB;
            return this;
        }

        public Builder resize(ResizePolicy policy) {
            this.resize = Objects.requireNonNull(policy, "resize policy");
            return this;
        }

        /**
         * Test-time dropout, as Pix2Pix runs its generator: each Dropout(p) of the model multiplies
         * its input by a fresh mask of 0 and {@code 1 / (1 - p)} values at every forward pass. The
         * masks come from SplitMix64 seeded with {@code seed}: {@code state += 0x9E3779B97F4A7C15},
         * {@code z = state}, {@code z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9},
         * {@code z = (z ^ (z >>> 27)) * 0x94D049BB133111EB}, {@code z ^= z >>> 31}; an element is
         * kept when {@code (z >>> 11) * 2^-53 >= p}. Per forward pass the masks are drawn Dropout
         * node by Dropout node in graph order, each in NCHW order over the whole batch; the stream
         * continues from pass to pass, so one generator loaded with the same seed and given the same
         * inputs gives the same sequence of outputs.
         */
        public Builder dropout(long seed) {
            this.dropoutSeed = seed;
            return this;
        }

        /** Dropout nodes are identity (the default). */
        public Builder noDropout() {
            this.dropoutSeed = null;
            return this;
        }

        public GeneratorOptions build() {
            return new GeneratorOptions(this);
        }
    }
}
