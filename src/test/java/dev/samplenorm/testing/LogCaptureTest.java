package dev.samplenorm.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The capture of log records does not depend on the levels other test classes left behind. */
class LogCaptureTest {

    private static final System.Logger LOG = System.getLogger(LogCaptureTest.class.getName());

    @Test
    void infoIsCapturedAfterTheProjectLevelWasSetToWarningAndTheLevelsStayAsTheyWere() {
        Logger project = Logger.getLogger("dev.samplenorm");
        Level before = project.getLevel();
        project.setLevel(Level.WARNING); // as the CLI leaves it after a test ran it in this JVM
        try {
            List<LogRecord> records = LogCapture.of(LogCaptureTest.class, () -> LOG.log(System.Logger.Level.INFO, "loaded"));
            assertEquals(List.of("loaded"), records.stream().map(LogRecord::getMessage).toList());
            Logger own = Logger.getLogger(LogCaptureTest.class.getName());
            assertEquals(null, own.getLevel(), "the class's logger inherits again after the capture");
            assertFalse(own.isLoggable(Level.INFO), "and the project's WARNING applies to it again");
        } finally {
            project.setLevel(before);
        }
    }
}
