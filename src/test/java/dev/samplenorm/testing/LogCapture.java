package dev.samplenorm.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Collects what one class logs (System.Logger goes to java.util.logging) while a piece of code runs,
 * at every level, whatever levels earlier code in the same JVM has set: the CLI, run in-process by
 * other test classes, sets {@code dev.samplenorm} to WARNING, and the order of test classes is the
 * file system's.
 */
public final class LogCapture {

    private LogCapture() {}

    /** Runs {@code r} and returns every record the logger of {@code source} published meanwhile. */
    public static List<LogRecord> of(Class<?> source, Runnable r) {
        List<LogRecord> records = new ArrayList<>();
        Handler h = new Handler() {
            @Override
            public void publish(LogRecord rec) {
                synchronized (records) {
                    records.add(rec);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger(source.getName());
        Level level = log.getLevel();
        log.setLevel(Level.ALL);
        log.addHandler(h);
        try {
            r.run();
        } finally {
            log.removeHandler(h);
            log.setLevel(level);
        }
        return records;
    }
}
