package dev.samplenorm.kernels;

/**
 * The canonical reduction order of blob statistics (kernels/common/moments.h), written out
 * literally in Java: 256 lanes padded with zeros, the full halving trees, the group-wise merge.
 * Java's double arithmetic rounds every operation once, as the native kernels do, so the CPU and
 * CUDA kernels must match this bit for bit.
 */
final class CanonicalReduction {

    static final int CHUNK = 4096;
    static final int LANES = 256;
    static final int MERGE_GROUP = 1024;

    private CanonicalReduction() {}

    record Moments(double count, double mean, double m2) {
        static final Moments EMPTY = new Moments(0, 0, 0);
    }

    static Moments fromShiftedSums(double count, double pivot, double sum, double sumSq) {
        double mean = pivot + sum / count;
        double m2 = sumSq - sum * sum / count;
        return new Moments(count, mean, m2 > 0 ? m2 : (m2 == m2 ? 0.0 : m2));
    }

    static Moments merge(Moments a, Moments b) {
        if (a.count == 0) return b;
        if (b.count == 0) return a;
        double count = a.count + b.count;
        double delta = b.mean - a.mean;
        double wb = b.count / count;
        return new Moments(count, a.mean + delta * wb, a.m2 + b.m2 + delta * delta * a.count * wb);
    }

    /** Moments of elements [begin, end) of a contiguous plane starting at x[offset]. */
    static Moments chunk(float[] x, int offset, int begin, int end) {
        double pivot = x[offset + begin];
        double[] s = new double[LANES], q = new double[LANES];
        for (int e = begin; e < end; e++) {
            int t = (e - begin) % LANES;
            double d = (double) x[offset + e] - pivot;
            s[t] = s[t] + d;
            q[t] = q[t] + d * d;
        }
        for (int w = LANES / 2; w >= 1; w /= 2) {
            for (int t = 0; t < w; t++) {
                s[t] = s[t] + s[t + w];
                q[t] = q[t] + q[t + w];
            }
        }
        return fromShiftedSums(end - begin, pivot, s[0], q[0]);
    }

    static Moments mergeGroup(Moments[] items, int first, int count) {
        Moments[] lane = new Moments[LANES];
        for (int t = 0; t < LANES; t++) {
            Moments acc = Moments.EMPTY;
            for (int j = t; j < count; j += LANES) acc = merge(acc, items[first + j]);
            lane[t] = acc;
        }
        for (int w = LANES / 2; w >= 1; w /= 2) {
            for (int t = 0; t < w; t++) lane[t] = merge(lane[t], lane[t + w]);
        }
        return lane[0];
    }

    static Moments mergeSequence(Moments[] items) {
        while (items.length > MERGE_GROUP) {
            Moments[] next = new Moments[(items.length + MERGE_GROUP - 1) / MERGE_GROUP];
            for (int g = 0; g < next.length; g++) {
                next[g] = mergeGroup(items, g * MERGE_GROUP, Math.min(MERGE_GROUP, items.length - g * MERGE_GROUP));
            }
            items = next;
        }
        return mergeGroup(items, 0, items.length);
    }

    /** {means, variances} of a contiguous NCHW blob. */
    static double[][] stats(float[] x, BlobShape s, StatsScope scope) {
        int plane = s.planeSize();
        int chunks = (plane + CHUNK - 1) / CHUNK;
        int planes = s.n() * s.c();
        Moments[] partial = new Moments[planes * chunks];
        for (int p = 0; p < planes; p++) {
            for (int k = 0; k < chunks; k++) {
                partial[p * chunks + k] = chunk(x, p * plane, k * CHUNK, Math.min(plane, (k + 1) * CHUNK));
            }
        }
        int outputs = scope == StatsScope.SAMPLE ? planes : s.c();
        int perOutput = (scope == StatsScope.SAMPLE ? 1 : s.n()) * chunks;
        double[] mean = new double[outputs], var = new double[outputs];
        for (int o = 0; o < outputs; o++) {
            Moments[] items = new Moments[perOutput];
            for (int i = 0; i < perOutput; i++) {
                int p = scope == StatsScope.SAMPLE ? o : (i / chunks) * s.c() + o;
                items[i] = partial[p * chunks + i % chunks];
            }
            Moments m = mergeSequence(items);
            mean[o] = m.mean;
            var[o] = m.m2 / m.count;
        }
        return new double[][] {mean, var};
    }
}
