package dev.samplenorm.spark;

import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Releases each executor's generators when Spark stops the executor: enable it with
 * {@code --conf spark.plugins=dev.samplenorm.spark.SampleNormPlugin}. Without it, a JVM shutdown
 * hook releases them when the executor JVM exits.
 */
public final class SampleNormPlugin implements SparkPlugin {

    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                // Generators are loaded lazily by the first task that needs one.
            }

            @Override
            public void shutdown() {
                ExecutorGenerators.closeAll();
            }
        };
    }
}
