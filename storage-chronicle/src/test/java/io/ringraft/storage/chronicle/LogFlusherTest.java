package io.ringraft.storage.chronicle;

import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.RaftStorageException;
import io.ringraft.testkit.conformance.LogStorageConformance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The flusher: under {@code BATCH} the sync runs on a thread of the storage's own, and {@code flush()} never waits for it. */
class LogFlusherTest
{
    @TempDir
    Path directory;

    private ChronicleStorageContext context(final DurabilityPolicy policy)
    {
        return new ChronicleStorageContext().directory(directory).durability(policy).segmentEntries(16).blockSize(64 << 10);
    }

    private static void append(final ChronicleLogStorage storage, final long from, final long toInclusive, final long term)
    {
        for (long i = from; i <= toInclusive; i++)
        {
            storage.append(LogStorageConformance.entry(i, term));
        }
    }

    /** Asks flush() until it reports {@code index} durable, for at most 10 s. */
    private static void awaitDurable(final ChronicleLogStorage storage, final long index) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long durable;
        while ((durable = storage.flush()) < index)
        {
            assertTrue(System.nanoTime() < deadline, "durable " + durable + ", not " + index + ", after 10 s");
            Thread.sleep(1);
        }
        assertEquals(index, durable);
    }

    private Thread flusherThread()
    {
        final String name = "ringraft-log-flusher " + directory.getFileName();
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(name)).findFirst().orElse(null);
    }

    @Test
    void flushReturnsWhileASyncIsStuckAndReportsTheEntriesOnceItCompletes() throws Exception
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH)))
        {
            append(storage, 1, 10, 1);
            awaitDurable(storage, 10);
            final CountDownLatch disk = new CountDownLatch(1);
            final AtomicInteger syncs = new AtomicInteger();
            storage.flusher().syncHook = () ->
            {
                syncs.incrementAndGet();
                try
                {
                    disk.await();
                }
                catch (final InterruptedException ex)
                {
                    throw new IllegalStateException(ex);
                }
            };
            append(storage, 11, 40, 1); // crosses cycle files
            // The sync hangs; flush() must not: it reports only what was durable before.
            final long durable = assertTimeoutPreemptively(Duration.ofSeconds(5), () -> storage.flush());
            assertEquals(10, durable, "reported durable while the sync hangs");
            append(storage, 41, 45, 2);
            assertEquals(10, assertTimeoutPreemptively(Duration.ofSeconds(5), () -> storage.flush()));
            assertEquals(LogStorageConformance.entry(45, 2), storage.entry(45), "reads go on meanwhile");
            disk.countDown();
            awaitDurable(storage, 45);
            assertTrue(syncs.get() >= 1 && syncs.get() <= 2, "posts coalesce: " + syncs.get() + " syncs for two flushes");
        }
    }

    /** A node that sleeps on something other than a park (its sockets) hears of each completed sync through the signal. */
    @Test
    void theDurabilitySignalRunsOnTheFlusherThreadAfterASync() throws Exception
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH)))
        {
            final CountDownLatch signalled = new CountDownLatch(1);
            final java.util.concurrent.atomic.AtomicReference<String> signalThread = new java.util.concurrent.atomic.AtomicReference<>();
            storage.durabilitySignal(() ->
            {
                signalThread.set(Thread.currentThread().getName());
                signalled.countDown();
            });
            append(storage, 1, 10, 1);
            storage.flush();
            assertTrue(signalled.await(10, TimeUnit.SECONDS), "no signal after the sync");
            assertTrue(signalThread.get().startsWith("ringraft-log-flusher"), signalThread.get());
            assertEquals(10, storage.durableIndexNow(), "what the completed sync made durable, without a flush call");
            awaitDurable(storage, 10);
        }
    }

    @Test
    void aSyncThatFailsOnTheFlusherThreadFailsTheNextFlushWithTheCause() throws Exception
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH)))
        {
            append(storage, 1, 5, 1);
            awaitDurable(storage, 5);
            storage.flusher().syncHook = () ->
            {
                throw new RaftStorageException("cannot sync the log: " + new IOException("Input/output error"),
                    new IOException("Input/output error"));
            };
            append(storage, 6, 8, 1);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            RaftStorageException failure = null;
            while (failure == null)
            {
                try
                {
                    assertTrue(storage.flush() <= 5, "nothing more is reported durable");
                }
                catch (final RaftStorageException ex)
                {
                    failure = ex;
                }
                assertTrue(System.nanoTime() < deadline, "the failed sync was not reported within 10 s");
                Thread.sleep(1);
            }
            assertTrue(failure.getMessage().contains("flusher thread") && failure.getMessage().contains(directory.toString()),
                failure.getMessage());
            assertInstanceOf(IOException.class, failure.getCause().getCause(), "the I/O error is the cause");
            // Never forgotten: every later flush fails too; the flusher stopped.
            assertThrows(RaftStorageException.class, storage::flush);
            final Thread flusher = flusherThread();
            assertTrue(flusher == null || !flusher.isAlive() || flusher.getState() == Thread.State.TERMINATED);
        }
    }

    @Test
    void theFlusherParksWhenIdleAndStopsWithTheStorage() throws Exception
    {
        final ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH));
        append(storage, 1, 20, 1);
        awaitDurable(storage, 20);
        final Thread flusher = flusherThread();
        assertTrue(flusher != null && flusher.isDaemon(), "a daemon flusher thread under BATCH");
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (flusher.getState() != Thread.State.WAITING)
        {
            assertTrue(System.nanoTime() < deadline, "the idle flusher is " + flusher.getState() + ", not parked");
            Thread.sleep(1);
        }
        storage.close();
        flusher.join(5_000);
        assertTrue(!flusher.isAlive(), "the flusher stops with the storage");
    }

    @Test
    void noFlusherThreadUnderNoneAlwaysOrWhenSwitchedOff() throws Exception
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.NONE)))
        {
            append(storage, 1, 3, 1);
            assertEquals(3, storage.flush());
            assertNull(flusherThread());
        }
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.ALWAYS)))
        {
            append(storage, 4, 6, 1);
            assertEquals(6, storage.flush());
            assertNull(flusherThread());
        }
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH).flusherThread(false)))
        {
            append(storage, 7, 9, 1);
            assertEquals(9, storage.flush(), "syncs before it returns");
            assertNull(flusherThread());
        }
    }

    @Test
    void aTruncationWaitsForTheSyncInProgressAndNothingAppendedAfterItIsReportedBeforeItsOwnSync() throws Exception
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH)))
        {
            storage.syncDelayNanos(TimeUnit.MILLISECONDS.toNanos(300));
            append(storage, 1, 40, 1);
            storage.flush();
            storage.truncateSuffix(20);
            assertEquals(19, storage.flush(), "the kept prefix is durable once the truncation returns");
            append(storage, 20, 30, 2);
            assertEquals(19, storage.flush(), "the new suffix waits for its own (slow) sync");
            awaitDurable(storage, 30);
            assertEquals(LogStorageConformance.entry(19, 1), storage.entry(19));
            assertEquals(LogStorageConformance.entry(30, 2), storage.entry(30));
            storage.syncDelayNanos(0);
            storage.purgePrefix(new io.ringraft.LogId(7, 100));
            assertEquals(100, storage.flush(), "a purge beyond the end leaves an empty, durable log");
        }
    }

    @Test
    void syncDelaySettingsAreValidated()
    {
        final IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
            () -> ChronicleLogStorage.open(context(DurabilityPolicy.BATCH).syncDelayNanos(-1)));
        assertTrue(negative.getMessage().contains("syncDelayNanos=-1"), negative.getMessage());
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(DurabilityPolicy.BATCH)))
        {
            assertThrows(IllegalArgumentException.class, () -> storage.syncDelayNanos(-5));
        }
    }
}
