package io.ringraft.testkit.conformance;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.storage.RaftSnapshotStore;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The behaviour every {@link RaftSnapshotStore} must show: extend it, implement
 * {@link #open(Path)}, and JUnit runs the checks.
 * <p>
 * What it checks: a new store has no snapshot; a snapshot written in chunks and committed is the
 * latest, with its size, CRC32C, last included id and membership (joint, with learners and
 * endpoints); its data reads back whole and in chunks at any position, and 0 bytes at the end;
 * nothing is visible before commit, after an abort, or after closing an uncommitted writer; a
 * newer commit becomes the latest; an empty snapshot. When the store is {@link #reopenable()},
 * the latest snapshot and its data survive closing and reopening it.
 */
public abstract class SnapshotStoreConformance
{
    /** The directory a test's store lives in. */
    @TempDir
    protected Path directory;

    /** The store under test; reopening replaces it. */
    protected RaftSnapshotStore store;

    /**
     * @param directory an empty or previously used directory
     * @return the store, holding what was committed there before
     */
    protected abstract RaftSnapshotStore open(Path directory);

    /** @return true if committed snapshots survive {@code close()} and {@link #open(Path)} */
    protected boolean reopenable()
    {
        return true;
    }

    @BeforeEach
    void openStore()
    {
        store = open(directory);
    }

    @AfterEach
    void closeStore()
    {
        if (store != null)
        {
            store.close();
        }
    }

    /** Closes and reopens the store if it is reopenable; keeps the same instance otherwise. */
    protected RaftSnapshotStore reopen()
    {
        if (reopenable())
        {
            store.close();
            store = null;
            store = open(directory);
        }
        return store;
    }

    private static final Membership JOINT = Membership.of(1, 2, 3).toJoint(new long[] {2, 3, 4}, new long[] {9})
        .withLearner(10, "127.0.0.1:9010");

    private static byte[] data(final int length, final long seed)
    {
        final byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static int crc32c(final byte[] bytes)
    {
        final CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int)crc.getValue();
    }

    private SnapshotMeta write(final SnapshotMeta meta, final byte[] bytes, final int chunk)
    {
        try (SnapshotWriter writer = store.create(meta))
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(bytes);
            for (int offset = 0; offset < bytes.length; offset += chunk)
            {
                writer.write(buffer, offset, Math.min(chunk, bytes.length - offset));
                assertEquals(Math.min(bytes.length, offset + chunk), writer.position());
            }
            return writer.commit();
        }
    }

    private byte[] readWhole(final SnapshotMeta meta, final int chunk)
    {
        try (SnapshotReader reader = store.open(meta))
        {
            final byte[] out = new byte[(int)reader.size()];
            final UnsafeBuffer dst = new UnsafeBuffer(new byte[chunk + 8]);
            long position = 0;
            int n;
            while ((n = reader.read(position, dst, 8, chunk)) > 0)
            {
                dst.getBytes(8, out, (int)position, n);
                position += n;
            }
            assertEquals(reader.size(), position);
            assertEquals(0, reader.read(reader.size(), dst, 0, chunk));
            assertEquals(meta, reader.meta());
            return out;
        }
    }

    private static SnapshotMeta pending(final long term, final long index, final Membership membership, final String id)
    {
        return new SnapshotMeta(new LogId(term, index), membership, id, -1, 0);
    }

    @Test
    void newStoreHasNoSnapshot()
    {
        assertNull(store.latest());
        reopen();
        assertNull(store.latest());
    }

    @Test
    void commitsAndReadsBackInChunks()
    {
        final byte[] bytes = data(100_003, 1);
        final SnapshotMeta meta = write(pending(3, 1000, JOINT, "3-1000-1"), bytes, 4096);
        assertEquals(new SnapshotMeta(new LogId(3, 1000), JOINT, "3-1000-1", bytes.length, crc32c(bytes)), meta);
        assertEquals(meta, store.latest());
        assertArrayEquals(bytes, readWhole(meta, 777));
        try (SnapshotReader reader = store.open(meta))
        {
            final UnsafeBuffer dst = new UnsafeBuffer(new byte[100]);
            assertEquals(100, reader.read(5000, dst, 0, 100));
            assertArrayEquals(Arrays.copyOfRange(bytes, 5000, 5100), dst.byteArray());
            assertEquals(3, reader.read(100_000, dst, 0, 100));
        }
        reopen();
        assertEquals(meta, store.latest());
        assertArrayEquals(bytes, readWhole(store.latest(), 65536));
    }

    @Test
    void nothingIsVisibleBeforeCommitOrAfterAbort()
    {
        final SnapshotMeta first = write(pending(1, 10, Membership.of(1), "1-10-1"), data(500, 2), 100);
        final SnapshotWriter writer = store.create(pending(2, 20, Membership.of(1), "2-20-2"));
        writer.write(new UnsafeBuffer(data(300, 3)), 0, 300);
        assertEquals(first, store.latest());
        writer.abort();
        assertEquals(first, store.latest());
        try (SnapshotWriter unfinished = store.create(pending(2, 30, Membership.of(1), "2-30-3")))
        {
            unfinished.write(new UnsafeBuffer(data(300, 4)), 0, 300);
        }
        assertEquals(first, store.latest());
        reopen();
        assertEquals(first, store.latest());
        assertArrayEquals(data(500, 2), readWhole(store.latest(), 64));
    }

    @Test
    void aCommitThatCoversLessThanTheLatestIsDiscarded()
    {
        // A build started at index 10 finishes after a snapshot at index 50 was received and committed.
        final SnapshotMeta newer;
        try (SnapshotWriter overtaken = store.create(pending(1, 10, Membership.of(1, 2, 3), "1-10-1")))
        {
            overtaken.write(new UnsafeBuffer(data(500, 3)), 0, 500);
            newer = write(pending(2, 50, Membership.of(1, 2, 3), "2-50-2"), data(700, 4), 100);
            overtaken.commit();
        }
        assertEquals(newer, store.latest(), "the latest never goes back");
        assertArrayEquals(data(700, 4), readWhole(newer, 100));
        reopen();
        assertEquals(newer, store.latest());
        assertArrayEquals(data(700, 4), readWhole(store.latest(), 100));
    }

    @Test
    void aNewerCommitBecomesTheLatest()
    {
        write(pending(1, 10, Membership.of(1, 2, 3), "1-10-1"), data(1000, 5), 333);
        final SnapshotMeta second = write(pending(2, 50, Membership.of(1, 2, 3, 4, 5), "2-50-2"), data(2000, 6), 333);
        assertEquals(second, store.latest());
        assertArrayEquals(data(2000, 6), readWhole(second, 1000));
        reopen();
        assertEquals(second, store.latest());
        assertArrayEquals(data(2000, 6), readWhole(store.latest(), 1000));
        final SnapshotMeta third = write(pending(2, 90, Membership.of(1), "2-90-3"), data(10, 7), 3);
        assertEquals(third, store.latest());
    }

    @Test
    void anEmptySnapshot()
    {
        final SnapshotMeta meta = write(pending(4, 4, Membership.of(7), "4-4-1"), new byte[0], 10);
        assertEquals(0, meta.sizeBytes());
        assertEquals(crc32c(new byte[0]), meta.crc32c());
        reopen();
        assertEquals(meta, store.latest());
        assertArrayEquals(new byte[0], readWhole(store.latest(), 10));
    }
}
