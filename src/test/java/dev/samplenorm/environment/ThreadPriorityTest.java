package dev.samplenorm.environment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.samplenorm.kernels.NativeKernels;
import dev.samplenorm.testing.ProcTasks;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Per-thread nice values, checked against the kernel's view in /proc/self/task (Linux). */
class ThreadPriorityTest {

    private static int start; // the test thread's nice value: the process may itself run niced

    @BeforeAll
    static void supportedOnLinux() {
        assumeTrue(ThreadPriority.supported(), "per-thread nice values on Linux: " + ThreadPriority.unsupportedReason());
        assertNull(ThreadPriority.unsupportedReason());
        start = ThreadPriority.currentNice();
        assumeTrue(start <= 15, "the tests lower threads by 3 or more from the process's nice value, which is " + start);
    }

    /** Runs body in a new thread, so that lowering it leaves the test thread as it is. */
    private static <T> T inNewThread(Callable<T> body) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, "nice-test");
        t.start();
        t.join();
        try {
            return result.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) throw x;
            throw e;
        }
    }

    @Test
    void lowersTheCallingThreadOnlyAndReadsItBack() throws Exception {
        int target = start + 3;
        long testThread = ThreadPriority.currentThreadId();
        ThreadPriority.Outcome outcome = inNewThread(() -> {
            ThreadPriority.Outcome o = ThreadPriority.lowerCurrentThread(target);
            long tid = ThreadPriority.currentThreadId();
            assertEquals(target, ProcTasks.read(tid).nice(), "the kernel's nice value of the lowered thread");
            assertEquals(target, ThreadPriority.currentNice());
            assertEquals(target, ThreadPriority.niceOf(tid));
            return o;
        });
        assertEquals(ThreadPriority.Status.LOWERED, outcome.status());
        assertEquals(start, outcome.before());
        assertEquals(target, outcome.after());
        assertEquals("nice " + start + " -> " + target, outcome.toString());
        assertEquals(start, ProcTasks.read(testThread).nice(), "the test thread keeps its nice value");
        assertEquals(start, ThreadPriority.niceOf(testThread));
    }

    @Test
    void theThreadIdIsTheKernelsThreadId() throws Exception {
        ProcTasks.Task task = inNewThread(() -> ProcTasks.read(ThreadPriority.currentThreadId()));
        assertNotNull(task, "the thread is in /proc/self/task");
        assertEquals(ProcTasks.comm("nice-test"), task.comm(), "the kernel's name of the thread with that id");
    }

    @Test
    void threadsCreatedByALoweredThreadInheritItsNiceValue() throws Exception {
        int target = start + 5;
        int child = inNewThread(() -> {
            ThreadPriority.lowerCurrentThread(target);
            AtomicReference<Integer> seen = new AtomicReference<>();
            Thread t = new Thread(() -> seen.set(ProcTasks.read(ThreadPriority.currentThreadId()).nice()));
            t.start();
            t.join();
            return seen.get();
        });
        assertEquals(target, child);
    }

    @Test
    void theSameValueAgainLeavesTheThreadUnchanged() throws Exception {
        int target = start + 4;
        ThreadPriority.Outcome second = inNewThread(() -> {
            ThreadPriority.lowerCurrentThread(target);
            return ThreadPriority.lowerCurrentThread(target);
        });
        assertEquals(new ThreadPriority.Outcome(ThreadPriority.Status.UNCHANGED, target, target, null), second);
    }

    @Test
    void valuesOutsideZeroToNineteenAreRefusedNamingTheRange() {
        for (int bad : new int[] {-1, -20, 20, Integer.MAX_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ThreadPriority.lowerCurrentThread(bad));
            assertTrue(e.getMessage().contains("expected 0 to 19") && e.getMessage().contains("got " + bad), e.getMessage());
        }
        assertEquals(start, ThreadPriority.currentNice(), "a refused value changes nothing");
    }

    @Test
    void raisingThePriorityIsRefusedNamingTheValuesAllowed() throws Exception {
        int low = start + 3;
        IllegalArgumentException e = inNewThread(() -> {
            ThreadPriority.lowerCurrentThread(low);
            IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> ThreadPriority.lowerCurrentThread(low - 1));
            assertEquals(low, ThreadPriority.currentNice(), "a refused value changes nothing");
            return refused;
        });
        assertTrue(e.getMessage().contains("expected " + low + " to 19") && e.getMessage().contains("got " + (low - 1))
                && e.getMessage().contains("CAP_SYS_NICE"), e.getMessage());
    }

    @Test
    void threadIdsOutsideThisProcessAreRefused() {
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> ThreadPriority.niceOf(-1));
        assertTrue(negative.getMessage().contains("expected a thread id >= 0"), negative.getMessage());
        // Above Linux's largest pid_max (2^22): no thread of any process has this id.
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> ThreadPriority.niceOf((1 << 22) + 1));
        assertTrue(unknown.getMessage().contains("expected a thread of this process"), unknown.getMessage());
    }

    @Test
    void threadIdsAboveThePidRangeAreRefusedRatherThanTruncated() {
        long self = ThreadPriority.currentThreadId();
        long truncatesToSelf = (1L << 32) + self; // as a 32-bit pid_t this would be the calling thread
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ThreadPriority.niceOf(truncatesToSelf));
        assertTrue(e.getMessage().contains("expected a thread of this process, got " + truncatesToSelf), e.getMessage());
        int[] nice = {-100};
        assertEquals(3 /* ESRCH */, NativeKernels.threadNice(truncatesToSelf, nice), "the native side refuses it too");
        assertEquals(-100, nice[0], "and writes nothing");
    }

    @Test
    void aRefusedChangeIsAnOutcomeNotAnError() {
        for (int errno : new int[] {1 /* EPERM */, 13 /* EACCES */, 38 /* ENOSYS */}) {
            ThreadPriority.Outcome o = ThreadPriority.outcomeOf(start, 10, errno);
            assertEquals(ThreadPriority.Status.REFUSED, o.status());
            assertEquals(start, o.before());
            assertEquals(start, o.after(), "read back: the thread runs at the nice value it had");
            assertTrue(o.notApplied());
            assertTrue(o.reason().contains("refused") && o.reason().contains("errno " + errno), o.reason());
        }
        assertThrows(IllegalStateException.class, () -> ThreadPriority.outcomeOf(start, 10, 22 /* EINVAL */));
        assertEquals(ThreadPriority.Status.LOWERED, ThreadPriority.outcomeOf(start, start, 0).status());
    }
}
