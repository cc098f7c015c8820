package io.ringraft.service;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One client session in the host's replicated state: its response channel, its last activity
 * in cluster time, the floor the client acknowledged, and the commands applied above the floor
 * with their responses (for retries), in bounded memory: at most {@code maxEntries} commands and
 * {@code cacheBytes} bytes of responses; when the bytes run out the oldest responses are
 * dropped (a retry of such a command is answered {@code RESPONSE_EVICTED}, never applied again).
 * Eviction depends on the applied sequence only, so every replica holds the same cache.
 */
final class Session
{
    /** Lookup result: the sequence was not applied. */
    static final int ABSENT = -2;
    /** Lookup result: applied, response dropped. */
    static final int EVICTED = -1;

    final long id;
    final String endpoint;
    /** The client that opened the session with a signed OPEN, whose frames alone reach it; 0 if opened unsigned. */
    final long owner;
    long lastActivityNs;
    long floor;
    long maxSequence;

    private final int maxEntries;
    private final int cacheBytes;
    private long[] seqs;
    private int[] starts;
    private int[] lengths;
    private int head;
    private int count;
    private UnsafeBuffer bytes;
    private int writePos;
    private int foundStart;

    Session(final long id, final String endpoint, final long owner, final long nowNs, final int maxEntries, final int cacheBytes)
    {
        this.owner = owner;
        this.id = id;
        this.endpoint = endpoint;
        this.lastActivityNs = nowNs;
        this.maxEntries = maxEntries;
        this.cacheBytes = cacheBytes;
        final int initial = Math.min(maxEntries, 16);
        seqs = new long[initial];
        starts = new int[initial];
        lengths = new int[initial];
    }

    int count()
    {
        return count;
    }

    boolean full()
    {
        return count == maxEntries;
    }

    /** Advances the floor and forgets the commands at or below it. */
    void advanceFloor(final long newFloor)
    {
        if (newFloor <= floor)
        {
            return;
        }
        floor = newFloor;
        while (count > 0 && seqs[head] <= floor)
        {
            head = (head + 1) % seqs.length;
            count--;
        }
        if (count == 0)
        {
            writePos = 0;
        }
    }

    /**
     * @return the cached response's length ({@link #foundStart()} its offset in {@link #bytes()}),
     *         {@link #EVICTED}, or {@link #ABSENT}
     */
    int lookup(final long sequence)
    {
        if (sequence > maxSequence)
        {
            return ABSENT;
        }
        for (int i = count - 1; i >= 0; i--)
        {
            final int slot = (head + i) % seqs.length;
            if (seqs[slot] == sequence)
            {
                foundStart = starts[slot];
                return lengths[slot];
            }
        }
        return ABSENT;
    }

    int foundStart()
    {
        return foundStart;
    }

    DirectBuffer bytes()
    {
        return bytes;
    }

    /** Records an applied command and its response (the caller checked {@link #full()}). */
    void record(final long sequence, final DirectBuffer response, final int offset, final int length)
    {
        if (count == seqs.length)
        {
            grow();
        }
        final int slot = (head + count) % seqs.length;
        seqs[slot] = sequence;
        count++;
        maxSequence = Math.max(maxSequence, sequence);
        if (length == 0)
        {
            starts[slot] = 0;
            lengths[slot] = 0;
            return;
        }
        if (length > cacheBytes)
        {
            lengths[slot] = EVICTED;
            return;
        }
        if (bytes == null)
        {
            bytes = new UnsafeBuffer(new byte[cacheBytes]);
        }
        int at;
        while ((at = place(length, slot)) < 0)
        {
            evictOldestBytes(slot);
        }
        bytes.putBytes(at, response, offset, length);
        starts[slot] = at;
        lengths[slot] = length;
        writePos = at + length;
    }

    /** Drops the response of the command recorded last (it is too long to send). */
    void evictNewest()
    {
        lengths[(head + count - 1) % seqs.length] = EVICTED;
    }

    /** @return where {@code length} bytes fit without touching a live response, or -1 */
    private int place(final int length, final int newSlot)
    {
        final int oldest = oldestLive(newSlot);
        if (oldest < 0)
        {
            return 0;
        }
        final int s = starts[oldest];
        final int w = writePos;
        if (s < w)
        {
            if (w + length <= cacheBytes)
            {
                return w;
            }
            return length <= s ? 0 : -1;
        }
        return w + length <= s ? w : -1;
    }

    private int oldestLive(final int excludeSlot)
    {
        for (int i = 0; i < count; i++)
        {
            final int slot = (head + i) % seqs.length;
            if (slot != excludeSlot && lengths[slot] > 0)
            {
                return slot;
            }
        }
        return -1;
    }

    private void evictOldestBytes(final int excludeSlot)
    {
        lengths[oldestLive(excludeSlot)] = EVICTED;
    }

    private void grow()
    {
        final int n = Math.min(maxEntries, seqs.length * 2);
        final long[] s = new long[n];
        final int[] st = new int[n];
        final int[] l = new int[n];
        for (int i = 0; i < count; i++)
        {
            final int slot = (head + i) % seqs.length;
            s[i] = seqs[slot];
            st[i] = starts[slot];
            l[i] = lengths[slot];
        }
        seqs = s;
        starts = st;
        lengths = l;
        head = 0;
    }

    /** Serializes the cache: count, then (sequence, length, bytes) per entry, oldest first. */
    int encodeCache(final MutableDirectBuffer out, final int offset)
    {
        int cursor = offset;
        out.putInt(cursor, count);
        cursor += 4;
        for (int i = 0; i < count; i++)
        {
            final int slot = (head + i) % seqs.length;
            out.putLong(cursor, seqs[slot]);
            out.putInt(cursor + 8, lengths[slot]);
            cursor += 12;
            if (lengths[slot] > 0)
            {
                out.putBytes(cursor, bytes, starts[slot], lengths[slot]);
                cursor += lengths[slot];
            }
        }
        return cursor - offset;
    }

    /** Restores what {@link #encodeCache} wrote; returns the bytes read. */
    int decodeCache(final DirectBuffer in, final int offset)
    {
        int cursor = offset;
        final int n = in.getInt(cursor);
        cursor += 4;
        for (int i = 0; i < n; i++)
        {
            final long seq = in.getLong(cursor);
            final int length = in.getInt(cursor + 8);
            cursor += 12;
            if (length >= 0)
            {
                record(seq, in, cursor, length);
                cursor += length;
            }
            else
            {
                record(seq, in, cursor, 0);
                evictNewest();
            }
        }
        return cursor - offset;
    }

    /** @return an upper bound of {@link #encodeCache}'s length */
    int encodedCacheBound()
    {
        return 4 + count * 12 + (bytes == null ? 0 : cacheBytes);
    }
}
