package io.ringraft.testkit.conformance;

import io.ringraft.Entry;
import io.ringraft.EntryBatch;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.storage.RaftLogStorage;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The behaviour every {@link RaftLogStorage} must show: extend it, implement {@link #open(Path)},
 * and JUnit runs the checks.
 * <p>
 * What it checks: an empty log; appends read back equal (term, index, type, payload), singly, in
 * ranges, at random, and across the implementation's segments ({@link #entriesToCrossSegments()});
 * appends at the wrong index or with a term going backwards are refused; a reader that stops
 * early; truncation in the middle, at the first index and beyond the end; purge in the middle, up
 * to the last entry and beyond it (a snapshot install), with reads after it; the vote; and a
 * seeded random mix of all of them against a model. {@code flush()} never reports an index beyond
 * the last entry, and a storage that completes durability asynchronously reports the last entry
 * when asked again within {@link #FLUSH_WAIT_NANOS}. When the storage is {@link #reopenable()},
 * every check is repeated after closing and reopening it in the same directory; otherwise the same
 * instance is checked again.
 */
public abstract class LogStorageConformance
{
    /** How long {@link #flushDurable()} asks {@code flush()} again before it gives up: 10 s. */
    protected static final long FLUSH_WAIT_NANOS = 10_000_000_000L;

    /** The directory a test's storage lives in. */
    @TempDir
    protected Path directory;

    /** The storage under test; reopening replaces it. */
    protected RaftLogStorage storage;

    /**
     * Opens the storage in {@code directory}: creates it when the directory is new, recovers what
     * is there otherwise.
     *
     * @param directory an empty or previously used directory
     * @return the open storage
     */
    protected abstract RaftLogStorage open(Path directory);

    /** @return true if the storage keeps its content across {@code close()} and {@link #open(Path)} */
    protected boolean reopenable()
    {
        return true;
    }

    /** @return the largest payload the storage takes as configured by {@link #open}; some entries of the suite come close */
    protected int largestPayload()
    {
        return 120_000;
    }

    /** @return enough entries to span several of the implementation's segments (files, cycles...) */
    protected int entriesToCrossSegments()
    {
        return 200;
    }

    @BeforeEach
    void openStorage()
    {
        storage = open(directory);
    }

    @AfterEach
    void closeStorage()
    {
        if (storage != null)
        {
            storage.close();
        }
    }

    /** Closes and reopens the storage if it is reopenable; keeps the same instance otherwise. */
    protected RaftLogStorage reopen()
    {
        if (reopenable())
        {
            storage.close();
            storage = null;
            storage = open(directory);
        }
        return storage;
    }

    /** @return the payload of the entry at {@code index} in {@code term}: its content tells its identity */
    public static byte[] payload(final long index, final long term)
    {
        final byte[] bytes = new byte[(int)((index * 7 + term * 3) % 97)];
        for (int i = 0; i < bytes.length; i++)
        {
            bytes[i] = (byte)(index * 31 + term * 17 + i);
        }
        return bytes;
    }

    /** @return the entry the suite appends at {@code index} in {@code term} */
    public static Entry entry(final long index, final long term)
    {
        final EntryType type = index % 11 == 0 ? EntryType.BLANK : EntryType.NORMAL;
        return new Entry(term, index, type, type == EntryType.BLANK ? new byte[0] : payload(index, term));
    }

    /**
     * Calls {@code flush()} until it reports the last entry durable (at once for a storage that
     * syncs before it returns), checking that it never reports more than the log holds.
     *
     * @return what the last {@code flush()} returned: the last index
     */
    protected long flushDurable()
    {
        final long deadline = System.nanoTime() + FLUSH_WAIT_NANOS;
        while (true)
        {
            final long last = storage.lastLogIndex();
            final long durable = storage.flush();
            assertTrue(durable <= last, "flush() reported " + durable + " durable, beyond the last index " + last);
            if (durable == last)
            {
                return durable;
            }
            assertTrue(System.nanoTime() < deadline, "flush() still reports " + durable + " of " + last + " durable after 10 s");
            LockSupport.parkNanos(100_000);
        }
    }

    private void appendRange(final long from, final long toInclusive, final long term)
    {
        for (long i = from; i <= toInclusive; i++)
        {
            storage.append(entry(i, term));
        }
    }

    private List<Entry> readAll(final long from, final long toExclusive)
    {
        final List<Entry> entries = new ArrayList<>();
        storage.read(from, toExclusive, (term, index, type, buffer, offset, length) ->
        {
            final byte[] bytes = new byte[length];
            buffer.getBytes(offset, bytes);
            entries.add(new Entry(term, index, type, bytes));
            return true;
        });
        return entries;
    }

    private void assertLog(final LogId purged, final List<Entry> expected, final String when)
    {
        final LogId last = expected.isEmpty() ? purged : expected.get(expected.size() - 1).logId();
        assertEquals(purged, storage.lastPurgedLogId(), when + ": last purged");
        assertEquals(last, storage.lastLogId(), when + ": last log id");
        assertEquals(expected, readAll(purged.index() + 1, Long.MAX_VALUE), when + ": entries");
    }

    private static List<Entry> expected(final long from, final long toInclusive, final long term)
    {
        final List<Entry> list = new ArrayList<>();
        for (long i = from; i <= toInclusive; i++)
        {
            list.add(entry(i, term));
        }
        return list;
    }

    @Test
    void emptyLog()
    {
        assertLog(LogId.ZERO, List.of(), "new");
        assertEquals(Vote.INITIAL, storage.readVote());
        assertEquals(0, flushDurable());
        assertEquals(0, storage.read(1, 10, (t, i, type, b, o, l) -> true));
        reopen();
        assertLog(LogId.ZERO, List.of(), "reopened");
        assertEquals(Vote.INITIAL, storage.readVote());
    }

    @Test
    void appendsReadBackAndSurviveReopen()
    {
        appendRange(1, 50, 1);
        appendRange(51, 100, 3);
        assertEquals(100, flushDurable());
        final List<Entry> all = expected(1, 50, 1);
        all.addAll(expected(51, 100, 3));
        assertLog(LogId.ZERO, all, "appended");
        reopen();
        assertLog(LogId.ZERO, all, "reopened");
        storage.append(entry(101, 3));
        all.add(entry(101, 3));
        storage.flush();
        reopen();
        assertLog(LogId.ZERO, all, "appended after reopen");
    }

    @Test
    void appendsFromDirectBufferWithOffset()
    {
        final byte[] framed = new byte[40];
        for (int i = 0; i < framed.length; i++)
        {
            framed[i] = (byte)i;
        }
        storage.append(2, 1, EntryType.NORMAL, new UnsafeBuffer(framed), 7, 20);
        final byte[] membership = Membership.of(1, 2, 3).encode();
        storage.append(2, 2, EntryType.MEMBERSHIP, new UnsafeBuffer(membership), 0, membership.length);
        storage.flush();
        reopen();
        final byte[] want = new byte[20];
        System.arraycopy(framed, 7, want, 0, 20);
        assertArrayEquals(want, storage.entry(1).payload());
        assertEquals(EntryType.MEMBERSHIP, storage.entry(2).type());
        assertEquals(Membership.of(1, 2, 3), storage.entry(2).membership());
    }

    @Test
    void refusesWrongIndexAndBackwardTerm()
    {
        appendRange(1, 5, 2);
        assertThrows(IllegalArgumentException.class, () -> storage.append(entry(7, 2)));
        assertThrows(IllegalArgumentException.class, () -> storage.append(entry(5, 2)));
        assertThrows(IllegalArgumentException.class, () -> storage.append(entry(6, 1)));
        storage.append(entry(6, 2));
        assertLog(LogId.ZERO, expected(1, 6, 2), "after refusals");
    }

    @Test
    void readsRangesAndStopsWhenTheReaderSaysSo()
    {
        appendRange(1, 30, 1);
        assertEquals(expected(5, 9, 1), readAll(5, 10));
        assertEquals(expected(30, 30, 1), readAll(30, 100));
        assertEquals(List.of(), readAll(31, 40));
        final List<Long> seen = new ArrayList<>();
        final int delivered = storage.read(10, 20, (t, i, type, b, o, l) ->
        {
            seen.add(i);
            return seen.size() < 3;
        });
        assertEquals(3, delivered);
        assertEquals(List.of(10L, 11L, 12L), seen);
        assertThrows(IllegalArgumentException.class, () -> storage.read(32, 40, (t, i, type, b, o, l) -> true));
        assertThrows(IllegalArgumentException.class, () -> storage.read(0, 4, (t, i, type, b, o, l) -> true));
        assertEquals(entry(17, 1), storage.entry(17));
    }

    @Test
    void readsAtRandomAcrossSegments()
    {
        final int n = entriesToCrossSegments();
        appendRange(1, n / 2, 1);
        appendRange(n / 2 + 1, n, 2);
        storage.flush();
        for (int round = 0; round < 2; round++)
        {
            final Random random = new Random(42 + round);
            for (int k = 0; k < 3 * n; k++)
            {
                final long index = 1 + random.nextInt(n);
                assertEquals(entry(index, index <= n / 2 ? 1 : 2), storage.entry(index), "entry " + index);
            }
            final List<Entry> all = expected(1, n / 2, 1);
            all.addAll(expected(n / 2 + 1, n, 2));
            assertLog(LogId.ZERO, all, "sequential, round " + round);
            reopen();
        }
    }

    @Test
    void truncatesInTheMiddleThenAppendsANewTerm()
    {
        final int n = entriesToCrossSegments();
        appendRange(1, n, 1);
        storage.flush();
        final long from = n / 2 + 3;
        storage.truncateSuffix(from);
        assertEquals(new LogId(1, from - 1), storage.lastLogId());
        appendRange(from, from + 9, 4);
        storage.flush();
        final List<Entry> want = expected(1, from - 1, 1);
        want.addAll(expected(from, from + 9, 4));
        assertLog(LogId.ZERO, want, "truncated and appended");
        reopen();
        assertLog(LogId.ZERO, want, "reopened");
        storage.truncateSuffix(from + 5);
        reopen();
        assertLog(LogId.ZERO, want.subList(0, (int)from + 4), "truncated again and reopened");
    }

    @Test
    void truncatesEntriesNotYetFlushed()
    {
        appendRange(1, 10, 1);
        storage.flush();
        appendRange(11, 20, 1);
        assertEquals(expected(12, 13, 1), readAll(12, 14), "unflushed entries read back");
        storage.truncateSuffix(15);
        assertLog(LogId.ZERO, expected(1, 14, 1), "truncated among unflushed entries");
        appendRange(15, 17, 2);
        storage.truncateSuffix(11);
        appendRange(11, 12, 3);
        assertEquals(12, flushDurable());
        final List<Entry> want = expected(1, 10, 1);
        want.addAll(expected(11, 12, 3));
        assertLog(LogId.ZERO, want, "truncated at the first unflushed entry");
        reopen();
        assertLog(LogId.ZERO, want, "reopened");
    }

    @Test
    void truncatesAtTheFirstIndex()
    {
        appendRange(1, 40, 1);
        storage.flush();
        storage.truncateSuffix(1);
        assertLog(LogId.ZERO, List.of(), "truncated everything");
        reopen();
        assertLog(LogId.ZERO, List.of(), "reopened");
        appendRange(1, 3, 5);
        storage.flush();
        reopen();
        assertLog(LogId.ZERO, expected(1, 3, 5), "appended again");
    }

    @Test
    void truncationBeyondTheEndRemovesNothingAndIntoThePurgedPrefixIsRefused()
    {
        appendRange(1, 20, 1);
        storage.truncateSuffix(21);
        storage.truncateSuffix(500);
        assertLog(LogId.ZERO, expected(1, 20, 1), "after no-op truncations");
        storage.purgePrefix(new LogId(1, 10));
        assertThrows(IllegalArgumentException.class, () -> storage.truncateSuffix(10));
        assertThrows(IllegalArgumentException.class, () -> storage.truncateSuffix(3));
        storage.truncateSuffix(11);
        assertLog(new LogId(1, 10), List.of(), "truncated right after the purge point");
        reopen();
        assertLog(new LogId(1, 10), List.of(), "reopened");
    }

    @Test
    void purgesInTheMiddleAndReadsAfterIt()
    {
        final int n = entriesToCrossSegments();
        appendRange(1, n, 2);
        storage.flush();
        final LogId upTo = new LogId(2, n / 2 + 1);
        storage.purgePrefix(upTo);
        assertLog(upTo, expected(n / 2 + 2, n, 2), "purged");
        assertThrows(IllegalArgumentException.class, () -> storage.read(upTo.index(), upTo.index() + 2, (t, i, type, b, o, l) -> true));
        assertEquals(entry(n / 2 + 2, 2), storage.entry(n / 2 + 2));
        reopen();
        assertLog(upTo, expected(n / 2 + 2, n, 2), "reopened");
        storage.purgePrefix(new LogId(1, 3));
        assertLog(upTo, expected(n / 2 + 2, n, 2), "an older purge changes nothing");
        appendRange(n + 1, n + 5, 3);
        storage.flush();
        reopen();
        final List<Entry> want = expected(n / 2 + 2, n, 2);
        want.addAll(expected(n + 1, n + 5, 3));
        assertLog(upTo, want, "appended after the purge");
    }

    @Test
    void purgesUpToTheLastEntry()
    {
        final int n = entriesToCrossSegments();
        appendRange(1, n, 2);
        storage.flush();
        final LogId upTo = new LogId(2, n);
        storage.purgePrefix(upTo);
        assertLog(upTo, List.of(), "purged all");
        reopen();
        assertLog(upTo, List.of(), "reopened");
        appendRange(n + 1, n + 3, 2);
        storage.flush();
        reopen();
        assertLog(upTo, expected(n + 1, n + 3, 2), "appended after the purge");
    }

    @Test
    void purgesBeyondTheLastEntryAfterASnapshotInstall()
    {
        appendRange(1, 30, 1);
        storage.flush();
        final LogId snapshot = new LogId(7, 500);
        storage.purgePrefix(snapshot);
        assertLog(snapshot, List.of(), "purged beyond the end");
        assertThrows(IllegalArgumentException.class, () -> storage.append(entry(31, 7)));
        reopen();
        assertLog(snapshot, List.of(), "reopened");
        appendRange(501, 520, 7);
        storage.flush();
        assertLog(snapshot, expected(501, 520, 7), "appended after the snapshot");
        reopen();
        assertLog(snapshot, expected(501, 520, 7), "reopened after appending");
        storage.truncateSuffix(501);
        reopen();
        assertLog(snapshot, List.of(), "truncated back to the snapshot and reopened");
    }

    @Test
    void savesAndReadsTheVote()
    {
        assertEquals(Vote.INITIAL, storage.readVote());
        storage.saveVote(new Vote(1, 2, false));
        storage.saveVote(new Vote(3, 1, false));
        storage.saveVote(new Vote(3, 1, true));
        assertEquals(new Vote(3, 1, true), storage.readVote());
        reopen();
        assertEquals(new Vote(3, 1, true), storage.readVote());
        storage.saveVote(new Vote(4, Vote.NO_NODE, false));
        reopen();
        assertEquals(new Vote(4, Vote.NO_NODE, false), storage.readVote());
        appendRange(1, 3, 4);
        reopen();
        assertEquals(new Vote(4, Vote.NO_NODE, false), storage.readVote(), "appends leave the vote alone");
    }

    @Test
    void batchAppendsAndEncodedReadsMatchEntryByEntry()
    {
        final Random random = new Random(7);
        final List<Entry> entries = new ArrayList<>();
        for (long i = 1; i <= 300; i++)
        {
            final boolean blank = i % 11 == 0;
            final byte[] payload = new byte[blank ? 0 : i % 40 == 0 ? largestPayload() / 2 + random.nextInt(largestPayload() / 2) : random.nextInt(200)];
            random.nextBytes(payload);
            entries.add(new Entry(1 + i / 100, i, blank ? EntryType.BLANK : EntryType.NORMAL, payload));
        }
        storage.append(EntryBatch.of(entries.subList(0, 120)), 0);
        storage.append(EntryBatch.of(entries.subList(100, 300)), 20); // the first 20 are in the log already
        storage.flush();
        assertLog(LogId.ZERO, entries, "after batch appends");
        reopen();
        assertLog(LogId.ZERO, entries, "after reopen");

        final EntryBatch got = new EntryBatch();
        for (int trial = 0; trial < 200; trial++)
        {
            final long from = 1 + random.nextInt(300);
            final long to = from + random.nextInt(80);
            final int budget = random.nextInt(3 * largestPayload());
            final EntryBatch.Builder builder = new EntryBatch.Builder(1024).reset(budget);
            final int n = storage.readEncoded(from, to, builder);
            final String at = "readEncoded(" + from + ", " + to + ") within " + budget + " bytes";
            builder.wrapInto(got);
            assertEquals(n, got.size(), at);
            assertEquals(readAll(from, from + n), got.toList(), at);
            final long available = Math.min(to, 301) - from;
            assertTrue(n <= available && (n > 0 || available == 0), at + " took " + n);
            assertTrue(n <= 1 || builder.length() <= budget, at + ": " + builder.length() + " bytes");
            if (n < available)
            {
                final int next = EntryBatch.ENTRY_HEADER_LENGTH + entries.get((int)(from + n - 1)).payload().length;
                assertTrue(builder.length() + next > budget, at + ": stopped at " + n + " though the next entry fits");
            }
        }
        assertThrows(IllegalArgumentException.class,
            () -> storage.append(EntryBatch.of(List.of(new Entry(1, 301, EntryType.NORMAL, new byte[1]))), 0),
            "a batch whose term goes back");
        assertThrows(IllegalArgumentException.class,
            () -> storage.append(EntryBatch.of(List.of(new Entry(9, 303, EntryType.NORMAL, new byte[1]))), 0),
            "a batch that leaves a gap");
        assertEquals(new LogId(4, 300), storage.lastLogId(), "refused batches leave the log as it was");
    }

    @Test
    void randomMixMatchesAModel()
    {
        final long seed = System.nanoTime();
        final Random random = new Random(seed);
        final String context = "seed " + seed;
        final List<Entry> model = new ArrayList<>();
        LogId purged = LogId.ZERO;
        long term = 1;
        Vote vote = Vote.INITIAL;
        final int cross = entriesToCrossSegments();
        for (int step = 0; step < 60; step++)
        {
            final int op = random.nextInt(10);
            final long last = model.isEmpty() ? purged.index() : model.get(model.size() - 1).index();
            final String at = context + " step " + step + " op " + op;
            if (op < 5)
            {
                final int count = 1 + random.nextInt(cross / 4 + 1);
                if (random.nextInt(4) == 0)
                {
                    term++;
                }
                if (random.nextBoolean() || model.isEmpty())
                {
                    for (long i = last + 1; i <= last + count; i++)
                    {
                        storage.append(entry(i, term));
                        model.add(entry(i, term));
                    }
                }
                else
                {
                    // As a follower receives them: a batch that starts with entries the log has.
                    final int overlap = Math.min(model.size(), random.nextInt(4));
                    final List<Entry> batch = new ArrayList<>(model.subList(model.size() - overlap, model.size()));
                    for (long i = last + 1; i <= last + count; i++)
                    {
                        batch.add(entry(i, term));
                        model.add(entry(i, term));
                    }
                    storage.append(EntryBatch.of(batch), overlap);
                }
                if (random.nextBoolean())
                {
                    flushDurable();
                }
                else
                {
                    assertTrue(storage.flush() <= storage.lastLogIndex(), at + ": flush() beyond the last index");
                }
            }
            else if (op == 5 && last > purged.index())
            {
                final long from = purged.index() + 1 + random.nextInt((int)(last - purged.index()));
                storage.truncateSuffix(from);
                model.subList((int)(from - purged.index() - 1), model.size()).clear();
                term++;
            }
            else if (op == 6)
            {
                final long upTo = purged.index() + random.nextInt((int)(last - purged.index()) + 10);
                if (upTo > purged.index())
                {
                    final long upToTerm = upTo <= last ? model.get((int)(upTo - purged.index() - 1)).term() : term;
                    storage.purgePrefix(new LogId(upToTerm, upTo));
                    model.subList(0, (int)Math.min(model.size(), upTo - purged.index())).clear();
                    purged = new LogId(upToTerm, upTo);
                }
            }
            else if (op == 7)
            {
                vote = new Vote(term, 1 + random.nextInt(5), random.nextBoolean());
                storage.saveVote(vote);
            }
            else
            {
                reopen();
            }
            assertLog(purged, model, at);
            assertEquals(vote, storage.readVote(), at);
            assertTrue(storage.flush() <= storage.lastLogIndex(), at + ": flush() beyond the last index");
        }
        reopen();
        assertLog(purged, model, context + " final reopen");
        if (!model.isEmpty())
        {
            final Map<Integer, Entry> spot = Map.of(0, model.get(0), 1, model.get(model.size() - 1));
            for (final Entry e : spot.values())
            {
                assertEquals(e, storage.entry(e.index()), context);
            }
        }
        assertFalse(storage.lastLogId().compareTo(storage.lastPurgedLogId()) < 0, context);
    }
}
