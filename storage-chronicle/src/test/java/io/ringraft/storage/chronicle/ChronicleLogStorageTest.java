package io.ringraft.storage.chronicle;

import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Vote;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.storage.EntryReader;
import io.ringraft.storage.RaftStorageException;
import io.ringraft.testkit.conformance.LogStorageConformance;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the conformance suite cannot see: files, corruption, recovery of interrupted steps, settings, allocation. */
class ChronicleLogStorageTest
{
    private static final int SEGMENT = 16;

    @TempDir
    Path directory;

    private ChronicleStorageContext context(final DurabilityPolicy policy)
    {
        return new ChronicleStorageContext().directory(directory).durability(policy).segmentEntries(SEGMENT).blockSize(64 << 10);
    }

    private ChronicleLogStorage open()
    {
        return ChronicleLogStorage.open(context(DurabilityPolicy.BATCH));
    }

    private static void append(final ChronicleLogStorage storage, final long from, final long toInclusive, final long term)
    {
        for (long i = from; i <= toInclusive; i++)
        {
            storage.append(LogStorageConformance.entry(i, term));
        }
        storage.flush();
    }

    private static void assertEntries(final ChronicleLogStorage storage, final long from, final long toInclusive, final long term)
    {
        for (long i = from; i <= toInclusive; i++)
        {
            assertEquals(LogStorageConformance.entry(i, term), storage.entry(i), "entry " + i);
        }
    }

    private long cycleFileCount() throws IOException
    {
        try (Stream<Path> files = Files.list(directory.resolve(ChronicleLogStorage.QUEUE_DIRECTORY)))
        {
            return files.filter(f -> f.toString().endsWith(CycleFiles.SUFFIX)).count();
        }
    }

    /** Flips a byte in the middle of the payload of entry {@code index} (term 1) in its cycle file. */
    private static void corrupt(final Path file, final long index) throws IOException
    {
        final byte[] payload = LogStorageConformance.payload(index, 1);
        assertTrue(payload.length >= 8, "pick an index with a payload");
        final byte[] bytes = Files.readAllBytes(file);
        int at = -1;
        for (int i = 0; i + payload.length <= bytes.length && at < 0; i++)
        {
            int k = 0;
            while (k < payload.length && bytes[i + k] == payload[k])
            {
                k++;
            }
            at = k == payload.length ? i : -1;
        }
        assertTrue(at >= 0, "payload of entry " + index + " not found in " + file);
        bytes[at + payload.length / 2] ^= 0x5A;
        Files.write(file, bytes);
    }

    @Test
    void cutsATornLastEntryAndKeepsGoing() throws IOException
    {
        final Path file;
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 39, 1);
            append(storage, 40, 40, 1); // its own frame: a flush writes one frame
            file = storage.fileOf(40);
        }
        corrupt(file, 40);
        try (ChronicleLogStorage storage = open())
        {
            assertTrue(storage.cutTornTailOnOpen());
            assertEquals(new LogId(1, 39), storage.lastLogId());
            assertEntries(storage, 1, 39, 1);
            append(storage, 40, 45, 2);
        }
        try (ChronicleLogStorage storage = open())
        {
            assertFalse(storage.cutTornTailOnOpen());
            assertEquals(new LogId(2, 45), storage.lastLogId());
            assertEntries(storage, 1, 39, 1);
            assertEntries(storage, 40, 45, 2);
        }
    }

    @Test
    void refusesToStartOnACorruptEntryBeforeTheTailNamingFileAndIndex() throws IOException
    {
        final Path file;
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 40, 1);
            file = storage.fileOf(20);
        }
        corrupt(file, 20);
        final RaftStorageException ex = assertThrows(RaftStorageException.class, this::open);
        assertTrue(ex.getMessage().contains("index 20"), ex.getMessage());
        assertTrue(ex.getMessage().contains(file.toString()), ex.getMessage());
        assertTrue(ex.getMessage().contains("CRC32C"), ex.getMessage());
    }

    @Test
    void recoversFromACycleFileCreatedButNeverWritten() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 20, 1);
        }
        // A kill between Chronicle creating the next cycle file and writing its header.
        final Path next = new CycleFiles(directory.resolve(ChronicleLogStorage.QUEUE_DIRECTORY), ChronicleLogStorage.ROLL_CYCLE).fileFor(40);
        Files.write(next, new byte[64 << 10]);
        try (ChronicleLogStorage storage = open())
        {
            assertEquals(new LogId(1, 20), storage.lastLogId());
            append(storage, 21, 50, 1);
            assertEntries(storage, 1, 50, 1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"rewrite.intent", "rewrite.copied"})
    void aTruncationStoppedBeforeItsCommitLeavesTheLogWhole(final String point)
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 40, 1);
            storage.crashPoints = p ->
            {
                if (p.equals(point))
                {
                    throw new IllegalStateException("crash at " + p);
                }
            };
            assertThrows(IllegalStateException.class, () -> storage.truncateSuffix(37));
        }
        try (ChronicleLogStorage storage = open())
        {
            assertEquals(new LogId(1, 40), storage.lastLogId());
            assertEntries(storage, 1, 40, 1);
            storage.truncateSuffix(37);
            append(storage, 37, 50, 2);
        }
        try (ChronicleLogStorage storage = open())
        {
            assertEntries(storage, 1, 36, 1);
            assertEntries(storage, 37, 50, 2);
        }
    }

    @Test
    void aTruncationStoppedAfterItsCommitIsFinishedOnOpen() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 60, 1);
            storage.crashPoints = p ->
            {
                if (p.equals("rewrite.committed"))
                {
                    throw new IllegalStateException("crash at " + p);
                }
            };
            assertThrows(IllegalStateException.class, () -> storage.truncateSuffix(21));
        }
        try (ChronicleLogStorage storage = open())
        {
            assertEquals(new LogId(1, 20), storage.lastLogId());
            assertEntries(storage, 1, 20, 1);
            assertEquals(2, cycleFileCount(), "the superseded cycles are deleted: 1..16 and the rewritten 17..20 remain");
            append(storage, 21, 30, 3);
        }
        try (ChronicleLogStorage storage = open())
        {
            assertEntries(storage, 1, 20, 1);
            assertEntries(storage, 21, 30, 3);
        }
    }

    @Test
    void aPurgeStoppedAfterItsCommitIsFinishedOnOpen() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 100, 1);
            assertEquals(7, cycleFileCount());
            storage.crashPoints = p ->
            {
                if (p.equals("purge.committed"))
                {
                    throw new IllegalStateException("crash at " + p);
                }
            };
            assertThrows(IllegalStateException.class, () -> storage.purgePrefix(new LogId(1, 50)));
        }
        try (ChronicleLogStorage storage = open())
        {
            assertEquals(new LogId(1, 50), storage.lastPurgedLogId());
            assertEquals(4, cycleFileCount(), "cycles holding only 1..48 are deleted");
            assertEntries(storage, 51, 100, 1);
        }
    }

    @Test
    void purgeDeletesWholeCycleFilesOnly() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 100, 1);
            storage.purgePrefix(new LogId(1, 47));
            assertEquals(5, cycleFileCount(), "33..48 still holds 48");
            storage.purgePrefix(new LogId(1, 48));
            assertEquals(4, cycleFileCount());
            storage.purgePrefix(new LogId(5, 1000));
            assertEquals(0, cycleFileCount());
            append(storage, 1001, 1003, 5);
            assertEquals(1, cycleFileCount());
        }
    }

    @Test
    void aLogWithoutItsVoteIsInconsistent() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 5, 1);
        }
        Files.delete(directory.resolve(FileVoteStore.FILE_NAME));
        final RaftStorageException ex = assertThrows(RaftStorageException.class, this::open);
        assertTrue(ex.getMessage().contains("inconsistent") && ex.getMessage().contains("vote"), ex.getMessage());
    }

    @Test
    void aVoteWithoutItsLogIsInconsistent() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            storage.saveVote(new Vote(3, 2, true));
        }
        Files.delete(directory.resolve(LogMeta.FILE_NAME));
        final RaftStorageException ex = assertThrows(RaftStorageException.class, this::open);
        assertTrue(ex.getMessage().contains("inconsistent") && ex.getMessage().contains("T3-N2"), ex.getMessage());
    }

    @Test
    void logFilesWithoutTheLogMetadataAreInconsistent() throws IOException
    {
        try (ChronicleLogStorage storage = open())
        {
            append(storage, 1, 5, 1);
        }
        Files.delete(directory.resolve(LogMeta.FILE_NAME));
        Files.delete(directory.resolve(FileVoteStore.FILE_NAME));
        final RaftStorageException ex = assertThrows(RaftStorageException.class, this::open);
        assertTrue(ex.getMessage().contains("inconsistent") && ex.getMessage().contains(LogMeta.FILE_NAME), ex.getMessage());
    }

    @Test
    void anInitialisationCutShortIsFinished()
    {
        FileVoteStore.create(directory.resolve(FileVoteStore.FILE_NAME));
        try (ChronicleLogStorage storage = open())
        {
            assertEquals(LogId.ZERO, storage.lastLogId());
            assertEquals(Vote.INITIAL, storage.readVote());
        }
    }

    @Test
    void aDirectoryIsOpenedOnceAtATime()
    {
        try (ChronicleLogStorage ignored = open())
        {
            final RaftStorageException ex = assertThrows(RaftStorageException.class, this::open);
            assertTrue(ex.getMessage().contains(directory.toString()), ex.getMessage());
        }
    }

    @Test
    void badSettingsAreNamedWithTheirValue() throws IOException
    {
        assertSetting("segmentEntries=1", context(DurabilityPolicy.NONE).segmentEntries(1));
        assertSetting("blockSize=100000", context(DurabilityPolicy.NONE).blockSize(100_000));
        assertSetting("blockSize=1024", context(DurabilityPolicy.NONE).blockSize(1024));
        assertSetting("indexSpacing=3", context(DurabilityPolicy.NONE).indexSpacing(3));
        assertSetting("durability", context(null));
        assertSetting("directory", context(DurabilityPolicy.NONE).directory(null));
        final Path file = Files.createFile(directory.resolve("plain-file"));
        assertSetting("directory=" + file, context(DurabilityPolicy.NONE).directory(file));
        assertSetting("directory=" + file.resolve("below"), context(DurabilityPolicy.NONE).directory(file.resolve("below")));
    }

    private static void assertSetting(final String expected, final ChronicleStorageContext ctx)
    {
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ChronicleLogStorage.open(ctx));
        assertTrue(ex.getMessage().contains(expected), "'" + ex.getMessage() + "' should name " + expected);
    }

    /** @return what flush() reports once everything is durable: at once, but under BATCH, whose flusher thread syncs */
    private static long flushed(final ChronicleLogStorage storage, final DurabilityPolicy policy)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        long durable = storage.flush();
        while (policy == DurabilityPolicy.BATCH && durable < storage.lastLogIndex() && System.nanoTime() < deadline)
        {
            LockSupport.parkNanos(100_000);
            durable = storage.flush();
        }
        return durable;
    }

    @ParameterizedTest
    @EnumSource(DurabilityPolicy.class)
    void everyPolicyKeepsWhatItFlushedAcrossAReopen(final DurabilityPolicy policy)
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(policy)))
        {
            for (long i = 1; i <= 50; i++)
            {
                storage.append(LogStorageConformance.entry(i, 1));
            }
            assertEquals(50, flushed(storage, policy));
            storage.truncateSuffix(45);
            assertEquals(44, flushed(storage, policy));
        }
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(context(policy)))
        {
            assertEquals(new LogId(1, 44), storage.lastLogId());
            assertEntries(storage, 1, 44, 1);
        }
    }

    @Test
    void appendAllocatesNothingInSteadyState()
    {
        final UnsafeBuffer payload = new UnsafeBuffer(new byte[64]);
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(allocationTestContext()))
        {
            append(storage, payload, 1, 50_000);
            final long allocated = allocatedBy(() -> append(storage, payload, 50_001, 100_000));
            assertTrue(allocated < 50_000, "50,000 appends allocated " + allocated + " bytes");
        }
    }

    @Test
    void readingWrittenFramesAllocatesNothingInSteadyState()
    {
        try (ChronicleLogStorage storage = ChronicleLogStorage.open(allocationTestContext()))
        {
            append(storage, new UnsafeBuffer(new byte[64]), 1, 100_000);
            storage.flush();
            final long[] sum = new long[1];
            final EntryReader reader = (term, index, type, buffer, offset, length) ->
            {
                sum[0] += buffer.getLong(offset);
                return true;
            };
            // The apply path's pattern: consecutive ranges, each frame copied out of the queue and checked.
            read(storage, reader, 1, 50_000);
            final long allocated = allocatedBy(() -> read(storage, reader, 50_001, 100_000));
            assertEquals(100_000L * 100_001 / 2, sum[0], "every entry was read once");
            assertTrue(allocated < 50_000, "reading 50,000 entries allocated " + allocated + " bytes");
        }
    }

    private ChronicleStorageContext allocationTestContext()
    {
        return new ChronicleStorageContext().directory(directory).durability(DurabilityPolicy.NONE).segmentEntries(1 << 20).blockSize(1 << 20);
    }

    /** Appends entries {@code from..to} of term 1, each payload holding its index. */
    private static void append(final ChronicleLogStorage storage, final UnsafeBuffer payload, final long from, final long to)
    {
        for (long index = from; index <= to; index++)
        {
            payload.putLong(0, index);
            storage.append(1, index, EntryType.NORMAL, payload, 0, 64);
        }
    }

    /** Reads entries {@code from..to} in ranges of 100. */
    private static void read(final ChronicleLogStorage storage, final EntryReader reader, final long from, final long to)
    {
        for (long at = from; at <= to; at += 100)
        {
            storage.read(at, Math.min(at + 100, to + 1), reader);
        }
    }

    /** @return the bytes the current thread allocated while running {@code work} */
    private static long allocatedBy(final Runnable work)
    {
        final com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        final long thread = Thread.currentThread().getId();
        final long before = threads.getThreadAllocatedBytes(thread);
        work.run();
        return threads.getThreadAllocatedBytes(thread) - before;
    }
}
