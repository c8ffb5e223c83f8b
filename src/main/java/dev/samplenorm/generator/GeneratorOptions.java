package dev.samplenorm.generator;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.StatisticsMode;
import java.util.EnumSet;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;

/**
 * How a {@link Generator} runs its model. Immutable; build with {@link #builder()}, e.g.
 * {@code GeneratorOptions.builder().statistics(StatisticsMode.BATCH).device(Device.cpu()).build()}.
 * Defaults: statistics {@link StatisticsMode#SAMPLE}, device auto, engine {@link Engine#OPENCV},
 * precision fp32, eps 1e-5, swapRB true, {@link ResizePolicy#RESIZE}, dropout off,
 * {@link ConvTransposeForm#AUTO}.
 */
public final class GeneratorOptions {

    /**
     * How the network's strided ConvTranspose layers are run (see
     * {@link dev.samplenorm.onnx.ConvTransposeRewrite}). The outputs agree to float rounding either way.
     */
    public enum ConvTransposeForm {
        /**
         * {@link #SUB_PIXEL} on the CPU, on both engines (measured faster on OpenCV DNN at every N, and on ONNX Runtime with
         * the Transpose interleave at N = 1; within the noise there at N = 4 and 16); {@link #AS_EXPORTED} on CUDA, not yet
         * measured there.
         */
        AUTO,
        /**
         * Rewritten as one Conv, DepthToSpace and Slice each; on the CPU, where the statistics rewrite's shape probe
         * found the layer's input shape, the DepthToSpace is two Transposes between Reshapes (the same values, faster there).
         */
        SUB_PIXEL,
        /** Kept as the model has them. */
        AS_EXPORTED;

        /** Whether the rewrite applies on {@code device} (a resolved device, not auto). */
        public boolean subPixelOn(Device device) {
            return this == SUB_PIXEL || (this == AUTO && device.isCpu());
        }
    }

    /** The eps that {@link StatisticsMode#INPUT} adds to the input variance by default (as BatchNorm does). */
    public static final double DEFAULT_EPS = 1e-5;

    /**
     * Statistics modes that {@link Precision#FP16} refuses, because on OpenCV's CUDA FP16 target they
     * land further than 1e-2 relative L2 from the float64 reference (measured by the GPU tests).
     */
    static final Set<StatisticsMode> FP16_REFUSED = EnumSet.noneOf(StatisticsMode.class);

    private final StatisticsMode statistics;
    private final Device device;
    private final Engine engine;
    private final Precision precision;
    private final double eps;
    private final boolean swapRB;
    private final ResizePolicy resize;
    private final Long dropoutSeed;
    private final ConvTransposeForm convTranspose;

    private GeneratorOptions(Builder b) {
        this.statistics = b.statistics;
        this.device = b.device;
        this.engine = b.engine;
        this.precision = b.precision;
        this.eps = b.eps;
        this.swapRB = b.swapRB;
        this.resize = b.resize;
        this.dropoutSeed = b.dropoutSeed;
        this.convTranspose = b.convTranspose;
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
        b.engine = engine;
        b.precision = precision;
        b.eps = eps;
        b.swapRB = swapRB;
        b.resize = resize;
        b.dropoutSeed = dropoutSeed;
        b.convTranspose = convTranspose;
        return b;
    }

    public StatisticsMode statistics() {
        return statistics;
    }

    /** The requested device: {@link Device#auto()} (the default: CUDA device 0 where usable, else the CPU), cpu or cuda:N. */
    public Device device() {
        return device;
    }

    /** The requested engine: {@link Engine#OPENCV} (the default), {@link Engine#ONNXRUNTIME} or {@link Engine#AUTO}. */
    public Engine engine() {
        return engine;
    }

    /** The precision the network runs in: {@link Precision#FP32} (default) or {@link Precision#FP16} (CUDA only). */
    public Precision precision() {
        return precision;
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

    /** How strided ConvTranspose layers run; {@link ConvTransposeForm#AUTO} by default. */
    public ConvTransposeForm convTranspose() {
        return convTranspose;
    }

    @Override
    public String toString() {
        return "GeneratorOptions{statistics=" + statistics.cliName() + ", device=" + device + ", engine=" + engine.cliName() + ", precision="
                + precision.cliName() + ", eps=" + eps
                + ", swapRB=" + swapRB + ", resize=" + resize
                + ", dropout=" + (dropoutSeed == null ? "off" : "seed " + dropoutSeed)
                + ", convTranspose=" + convTranspose + "}";
    }

    public static final class Builder {
        private StatisticsMode statistics = StatisticsMode.SAMPLE;
        private Device device = Device.auto();
        private Engine engine = Engine.OPENCV;
        private Precision precision = Precision.FP32;
        private double eps = DEFAULT_EPS;
        private boolean swapRB = true;
        private ResizePolicy resize = ResizePolicy.RESIZE;
        private Long dropoutSeed;
        private ConvTransposeForm convTranspose = ConvTransposeForm.AUTO;

        private Builder() {}

        public Builder statistics(StatisticsMode mode) {
            this.statistics = Objects.requireNonNull(mode, "statistics mode");
            return this;
        }

        /**
         * Run on {@code device}: {@link Device#auto()}, {@link Device#cpu()} or a {@link Device#cuda(int)}
         * device, which must then be usable (else loading fails with {@code NO_CUDA_DEVICE}).
         */
        public Builder device(Device device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /** Parses {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}. */
        public Builder device(String device) {
            return device(Device.parse(device));
        }

        /** CUDA device 0 where OpenCV's CUDA backend and a device are usable, else the CPU. The default. */
        public Builder autoDevice() {
            return device(Device.auto());
        }

        /**
         * Run the network on {@code engine}: {@link Engine#OPENCV} (the default), {@link Engine#ONNXRUNTIME}
         * (CPU only; a device auto then means the CPU) or {@link Engine#AUTO} (per device, as {@link
         * Engine#autoFor} says). {@link Generator#engine()} tells which engine a generator runs on.
         */
        public Builder engine(Engine engine) {
            this.engine = Objects.requireNonNull(engine, "engine");
            return this;
        }

        /** Parses {@code auto}, {@code opencv} or {@code onnxruntime}. */
        public Builder engine(String engine) {
            return engine(Engine.parse(engine));
        }

        /**
         * Run the network in {@code precision}. {@link Precision#FP16} needs a CUDA device whose OpenCV
         * DNN backend offers the FP16 target: on the CPU, loading fails with {@link IllegalArgumentException}.
         */
        public Builder precision(Precision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
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

        /** How strided ConvTranspose layers run: {@link ConvTransposeForm#AUTO} (the default) picks by device. */
        public Builder convTranspose(ConvTransposeForm form) {
            this.convTranspose = Objects.requireNonNull(form, "ConvTranspose form");
            return this;
        }

        /** Dropout nodes are identity (the default). */
        public Builder noDropout() {
            this.dropoutSeed = null;
            return this;
        }

        /**
         * @throws IllegalArgumentException for fp16 on the CPU, or fp16 with a statistics mode it is not accurate enough for,
         *     or the onnxruntime engine with a CUDA device or fp16
         */
        public GeneratorOptions build() {
            if (engine == Engine.ONNXRUNTIME && device.isCuda()) {
                throw new IllegalArgumentException("engine onnxruntime runs on the CPU only, not on " + device + ": use device cpu (or"
                        + " auto), or engine opencv (or auto) for CUDA");
            }
            if (engine == Engine.ONNXRUNTIME && precision == Precision.FP16) {
                throw new IllegalArgumentException("engine onnxruntime computes in float32 on the CPU: use precision fp32, or engine"
                        + " opencv on a CUDA device for fp16");
            }
            if (precision == Precision.FP16 && device.isCpu()) {
                throw new IllegalArgumentException("precision fp16 runs only on a CUDA device (OpenCV's CUDA FP16 target); the CPU"
                        + " computes in float32: use precision fp32 on the cpu");
            }
            if (precision == Precision.FP16 && FP16_REFUSED.contains(statistics)) {
                throw new IllegalArgumentException("precision fp16 is not offered for statistics mode " + statistics.cliName()
                        + ": on OpenCV's CUDA FP16 target it lands further than 1e-2 relative L2 from the float32 result; use"
                        + " precision fp32");
            }
            return new GeneratorOptions(this);
        }
    }
}
