package dev.samplenorm.spark;

import dev.samplenorm.Device;
import dev.samplenorm.Precision;
import dev.samplenorm.StatisticsMode;
import dev.samplenorm.generator.Generator;
import dev.samplenorm.generator.GeneratorOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The generators of this executor JVM: one per (model, statistics, precision, eps, device), loaded by
 * the first task that needs it and reused by every later task, until the executor shuts down.
 *
 * <p>Release is deterministic at executor shutdown through {@link SampleNormPlugin} (Spark calls its
 * executor plugin's {@code shutdown()} when it stops the executor, before the JVM exits); a JVM
 * shutdown hook closes whatever is left where the plugin is not configured. A per-task listener
 * would be the wrong owner: the point is that generators outlive tasks. {@link Generator} is
 * thread-safe (one call at a time), so concurrent tasks share one instance.
 */
public final class ExecutorGenerators {

    /** What makes two generators interchangeable. */
    record Key(ModelSource model, StatisticsMode statistics, Precision precision, double eps, Device device) {
        GeneratorOptions options() {
            return GeneratorOptions.builder().statistics(statistics).precision(precision).eps(eps).device(device).build();
        }
    }

    private static final System.Logger LOG = System.getLogger(ExecutorGenerators.class.getName());
    private static final Map<Key, Generator> CACHE = new ConcurrentHashMap<>();
    private static final AtomicLong LOADS = new AtomicLong();
    private static final AtomicLong LOAD_NANOS = new AtomicLong();
    private static volatile boolean hookInstalled;

    private ExecutorGenerators() {
    }

    /** The generator for {@code key}, loaded once per executor JVM (concurrent first calls load it once). */
    static Generator get(Key key) {
        Generator g = CACHE.computeIfAbsent(key, k -> {
            installShutdownHook();
            long start = System.nanoTime();
            Generator loaded = k.model().load(k.options());
            long nanos = System.nanoTime() - start;
            LOADS.incrementAndGet();
            LOAD_NANOS.addAndGet(nanos);
            LOG.log(System.Logger.Level.INFO, String.format(java.util.Locale.ROOT, "samplenorm: loaded %s (%s, %s) in %.0f ms", k.model(),
                    k.statistics().cliName(), loaded.device(), nanos / 1e6));
            return loaded;
        });
        return g;
    }

    /** How many generators this JVM has loaded since it started (a reused generator is not counted again). */
    public static long loadCount() {
        return LOADS.get();
    }

    /** Total time spent loading generators in this JVM, in nanoseconds. */
    public static long loadNanos() {
        return LOAD_NANOS.get();
    }

    /** How many generators are held now. */
    public static int size() {
        return CACHE.size();
    }

    /** The generators held now. */
    static List<Generator> held() {
        return new ArrayList<>(CACHE.values());
    }

    /**
     * Closes and forgets every generator held; a later task loads anew. Idempotent.
     *
     * @return how many were closed
     */
    public static int closeAll() {
        int closed = 0;
        for (Key k : new ArrayList<>(CACHE.keySet())) {
            Generator g = CACHE.remove(k);
            if (g != null) {
                g.close();
                closed++;
            }
        }
        return closed;
    }

    private static void installShutdownHook() {
        if (hookInstalled) return;
        synchronized (ExecutorGenerators.class) {
            if (hookInstalled) return;
            Runtime.getRuntime().addShutdownHook(new Thread(ExecutorGenerators::closeAll, "samplenorm-generators-close"));
            hookInstalled = true;
        }
    }
}
