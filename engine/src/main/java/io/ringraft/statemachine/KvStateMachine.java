package io.ringraft.statemachine;

import io.ringraft.LogId;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The key-value state machine of the simulator, the tests and the example key-value service: a
 * map from UTF-8 keys to byte values changed by put, delete and compare-and-set commands (and
 * read by get commands through the log), readable from any thread ({@link #get}, {@link #value}),
 * with a {@link KvDigest} of its history for checking that nodes agree, an optional record of
 * every applied (index, term, payload hash) for checkers, and snapshots of the whole map.
 * <p>
 * Command layout (little-endian): kind (1 byte: {@link #PUT}, {@link #GET}, {@link #CAS},
 * {@link #DELETE}), client (i32) and op id (i64) that the state machine ignores (they make equal
 * commands distinct entries), then key, value and expected, each as an i16 length (-1 = absent)
 * and the bytes. Response layout: status (1 byte: {@link #OK}, {@link #NOT_FOUND},
 * {@link #CAS_FAILED}), the command's kind (1 byte), value length (i32, -1 = absent), value bytes
 * (the value a GET read, the current value of a failed CAS).
 */
public final class KvStateMachine implements RaftStateMachine
{
    /** Store value under key. */
    public static final byte PUT = 0;
    /** Read key (through the log). */
    public static final byte GET = 1;
    /** Store value under key if its current value is expected (absent = absent). */
    public static final byte CAS = 2;
    /** Remove key. */
    public static final byte DELETE = 3;

    /** Done (a GET found the key). */
    public static final byte OK = 0;
    /** A GET or DELETE of an absent key, or a command that does not decode (applied as a no-op). */
    public static final byte NOT_FOUND = 1;
    /** A CAS whose expected value did not match: the response holds the current value. */
    public static final byte CAS_FAILED = 2;

    /** Length of a command's fixed header: kind, client, op id. */
    public static final int COMMAND_HEADER = 1 + 4 + 8;
    /** Length of a response's fixed header: status, kind, value length. */
    public static final int RESPONSE_HEADER = 6;

    private static final int SNAPSHOT_MAGIC = 0x4B56534E; // "NSVK"
    private static final int SNAPSHOT_VERSION = 2;

    private final ConcurrentHashMap<String, byte[]> map = new ConcurrentHashMap<>();
    private final boolean recordHistory;
    private final LongArrayList appliedIndexes = new LongArrayList();
    private final LongArrayList appliedTerms = new LongArrayList();
    private final LongArrayList appliedHashes = new LongArrayList();
    private volatile KvDigest digest = KvDigest.EMPTY;
    private volatile LogId lastApplied = LogId.ZERO;
    private long lastCommandIndex;
    private long appliedCount;
    private long chainHash;
    private long contentHash;

    /** A state machine that records every applied (index, term, payload hash), for checkers. */
    public KvStateMachine()
    {
        this(true);
    }

    /** @param recordHistory true to record every applied (index, term, payload hash) ({@link #appliedCount()}) */
    public KvStateMachine(final boolean recordHistory)
    {
        this.recordHistory = recordHistory;
    }

    @Override
    public LogId lastApplied()
    {
        return lastApplied;
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        if (index <= lastCommandIndex || index <= lastApplied.index())
        {
            throw new IllegalStateException("KV apply out of order: index " + index + " after " +
                Math.max(lastCommandIndex, lastApplied.index()));
        }
        lastCommandIndex = index;
        final long hash = payloadHash(payload, offset, length);
        if (recordHistory)
        {
            appliedIndexes.addLong(index);
            appliedTerms.addLong(term);
            appliedHashes.addLong(hash);
        }
        appliedCount++;
        chainHash = mix(chainHash ^ mix(index * 0x9E3779B97F4A7C15L + term) ^ mix(hash ^ length));
        final int end = offset + length;
        if (length < COMMAND_HEADER + 6)
        {
            // Not a command of this state machine: applied (and hashed) as a no-op, as on every node.
            return writeResponse(response, NOT_FOUND, (byte)-1, null);
        }
        final byte kind = payload.getByte(offset);
        final int keyOffset = offset + COMMAND_HEADER;
        final int keyLength = payload.getShort(keyOffset);
        final int valueOffset = keyOffset + 2 + Math.max(0, keyLength);
        if (keyLength < 0 || valueOffset + 2 > end)
        {
            return writeResponse(response, NOT_FOUND, kind, null);
        }
        final int valueLength = payload.getShort(valueOffset);
        final int expectedOffset = valueOffset + 2 + Math.max(0, valueLength);
        if (expectedOffset + 2 > end)
        {
            return writeResponse(response, NOT_FOUND, kind, null);
        }
        final int expectedLength = payload.getShort(expectedOffset);
        if (expectedOffset + 2 + Math.max(0, expectedLength) > end)
        {
            return writeResponse(response, NOT_FOUND, kind, null);
        }
        final String key = payload.getStringWithoutLengthUtf8(keyOffset + 2, keyLength);
        switch (kind)
        {
            case PUT:
                replace(key, valueLength < 0 ? new byte[0] : bytes(payload, valueOffset + 2, valueLength));
                return writeResponse(response, OK, kind, null);
            case GET:
            {
                final byte[] current = map.get(key);
                return writeResponse(response, current == null ? NOT_FOUND : OK, kind, current);
            }
            case DELETE:
                return writeResponse(response, replace(key, null) == null ? NOT_FOUND : OK, kind, null);
            case CAS:
            {
                final byte[] current = map.get(key);
                if (!matches(current, payload, expectedOffset + 2, expectedLength))
                {
                    return writeResponse(response, CAS_FAILED, kind, current);
                }
                replace(key, valueLength < 0 ? null : bytes(payload, valueOffset + 2, valueLength));
                return writeResponse(response, OK, kind, null);
            }
            default:
                return writeResponse(response, NOT_FOUND, kind, null);
        }
    }

    @Override
    public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
        if (lastAppliedIndex < lastApplied.index())
        {
            throw new IllegalStateException("KV applied point went back from " + lastApplied + " to " + lastAppliedIndex);
        }
        lastApplied = new LogId(lastAppliedTerm, lastAppliedIndex);
        digest = new KvDigest(lastAppliedIndex, appliedCount, chainHash, map.size(), contentHash);
    }

    /**
     * Reads a key from any thread: the value as of some point at or after the last {@link
     * #digest()}'s applied index that this thread could observe.
     *
     * @param key the key
     * @return its value (do not modify it), or null
     */
    public byte[] value(final String key)
    {
        return map.get(key);
    }

    /**
     * {@link #value} as UTF-8 text.
     *
     * @param key the key
     * @return its value, or null if absent
     */
    public String get(final String key)
    {
        final byte[] value = map.get(key);
        return value == null ? null : new String(value, StandardCharsets.UTF_8);
    }

    /** @return the digest as of the end of the last applied batch */
    public KvDigest digest()
    {
        return digest;
    }

    /** @return a copy of the whole map, values as UTF-8 text, ordered by key */
    public Map<String, String> snapshotOfMap()
    {
        final TreeMap<String, String> copy = new TreeMap<>();
        map.forEach((k, v) -> copy.put(k, new String(v, StandardCharsets.UTF_8)));
        return copy;
    }

    /** @return how many commands this instance applied (and recorded, if it records its history) */
    public int appliedCount()
    {
        return appliedIndexes.size();
    }

    /** @return the index of the {@code i}-th command applied by this instance */
    public long appliedIndex(final int i)
    {
        return appliedIndexes.getLong(i);
    }

    /** @return the term of the {@code i}-th command applied by this instance */
    public long appliedTerm(final int i)
    {
        return appliedTerms.getLong(i);
    }

    /** @return the payload hash ({@link #payloadHash}) of the {@code i}-th command applied by this instance */
    public long appliedHash(final int i)
    {
        return appliedHashes.getLong(i);
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        captureSnapshot().writeTo(writer);
    }

    /**
     * {@inheritDoc}
     * <p>
     * The map's entries (values are never changed in place, only replaced) and the counters, copied by reference:
     * sorting and encoding them happen in {@link CapturedSnapshot#writeTo}, on the snapshot thread.
     */
    @Override
    public CapturedSnapshot captureSnapshot()
    {
        final long count = appliedCount;
        final long hash = chainHash;
        final String[] keys = new String[map.size()];
        final byte[][] values = new byte[keys.length][];
        int n = 0;
        for (final Map.Entry<String, byte[]> e : map.entrySet())
        {
            keys[n] = e.getKey();
            values[n++] = e.getValue();
        }
        final int size = n;
        return writer ->
        {
            final int[] order = contentOrder(keys, size);
            final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64 * 1024);
            buffer.putInt(0, SNAPSHOT_MAGIC);
            buffer.putInt(4, SNAPSHOT_VERSION);
            buffer.putLong(8, count);
            buffer.putLong(16, hash);
            buffer.putInt(24, size);
            writer.write(buffer, 0, 28);
            for (int i = 0; i < size; i++)
            {
                final byte[] key = keys[order[i]].getBytes(StandardCharsets.UTF_8);
                final byte[] value = values[order[i]];
                buffer.putInt(0, key.length);
                buffer.putBytes(4, key);
                buffer.putInt(4 + key.length, value.length);
                buffer.putBytes(8 + key.length, value);
                writer.write(buffer, 0, 8 + key.length + value.length);
            }
        };
    }

    /**
     * The order a snapshot writes the keys in: by {@link String#hashCode()} (defined by the language, so the same on
     * every node and JVM), keys of equal hash by their natural order. It depends on the content alone, so equal
     * states give equal snapshots, and it costs a sort of longs instead of a sort of strings (a fifth of the time
     * with a million keys).
     *
     * @return the indexes {@code 0..size-1} of {@code keys} in that order
     */
    static int[] contentOrder(final String[] keys, final int size)
    {
        final long[] byHash = new long[size];
        for (int i = 0; i < size; i++)
        {
            byHash[i] = ((long)keys[i].hashCode() << 32) | i;
        }
        java.util.Arrays.sort(byHash);
        final int[] order = new int[size];
        for (int i = 0; i < size; i++)
        {
            order[i] = (int)byHash[i];
        }
        for (int start = 0; start < size; )
        {
            final int hashOfRun = (int)(byHash[start] >> 32);
            int end = start + 1;
            while (end < size && (int)(byHash[end] >> 32) == hashOfRun)
            {
                end++;
            }
            if (end - start > 1)
            {
                // Keys that collide (rare, unless a client makes them so): by key, in O(k log k) whatever k is.
                final Integer[] run = new Integer[end - start];
                for (int i = start; i < end; i++)
                {
                    run[i - start] = order[i];
                }
                java.util.Arrays.sort(run, (a, b) -> keys[a].compareTo(keys[b]));
                for (int i = start; i < end; i++)
                {
                    order[i] = run[i - start];
                }
            }
            start = end;
        }
        return order;
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
        final long size = reader.size();
        if (size > Integer.MAX_VALUE - 16)
        {
            throw new IllegalStateException("snapshot " + meta.snapshotId() + " of " + size + " bytes is too large for this state machine");
        }
        final UnsafeBuffer data = new UnsafeBuffer(new byte[(int)size]);
        long position = 0;
        while (position < size)
        {
            final int read = reader.read(position, data, (int)position, (int)Math.min(1 << 20, size - position));
            if (read <= 0)
            {
                throw new IllegalStateException("snapshot " + meta.snapshotId() + " ended at " + position + " of " + size + " bytes");
            }
            position += read;
        }
        if (size < 28 || data.getInt(0) != SNAPSHOT_MAGIC || data.getInt(4) != SNAPSHOT_VERSION)
        {
            throw new IllegalStateException("snapshot " + meta.snapshotId() + " is not a KV snapshot of version " + SNAPSHOT_VERSION);
        }
        map.clear();
        contentHash = 0;
        appliedCount = data.getLong(8);
        chainHash = data.getLong(16);
        final int count = data.getInt(24);
        int offset = 28;
        for (int i = 0; i < count; i++)
        {
            final int keyLength = data.getInt(offset);
            final String key = data.getStringWithoutLengthUtf8(offset + 4, keyLength);
            final int valueLength = data.getInt(offset + 4 + keyLength);
            final byte[] value = new byte[valueLength];
            data.getBytes(offset + 8 + keyLength, value);
            offset += 8 + keyLength + valueLength;
            replace(key, value);
        }
        lastApplied = meta.lastIncluded();
        lastCommandIndex = lastApplied.index();
        digest = new KvDigest(lastApplied.index(), appliedCount, chainHash, map.size(), contentHash);
    }

    /**
     * Encodes a command.
     *
     * @param buffer   where to write
     * @param offset   where to start
     * @param kind     {@link #PUT}, {@link #GET}, {@link #CAS} or {@link #DELETE}
     * @param client   a client tag the state machine ignores
     * @param opId     an op tag the state machine ignores
     * @param key      the key
     * @param value    the new value of a PUT or CAS (null = absent: a CAS then deletes)
     * @param expected the expected value of a CAS (null = absent)
     * @return the encoded length
     * @throws IllegalArgumentException if a field is longer than 32767 bytes
     */
    public static int encodeCommand(final MutableDirectBuffer buffer, final int offset, final byte kind, final int client, final long opId,
        final byte[] key, final byte[] value, final byte[] expected)
    {
        buffer.putByte(offset, kind);
        buffer.putInt(offset + 1, client);
        buffer.putLong(offset + 5, opId);
        int cursor = offset + COMMAND_HEADER;
        cursor = putField(buffer, cursor, key);
        cursor = putField(buffer, cursor, value);
        cursor = putField(buffer, cursor, expected);
        return cursor - offset;
    }

    /** @return the encoded length of a command with these fields */
    public static int commandLength(final byte[] key, final byte[] value, final byte[] expected)
    {
        return COMMAND_HEADER + 6 + (key == null ? 0 : key.length) + (value == null ? 0 : value.length) +
            (expected == null ? 0 : expected.length);
    }

    /**
     * Decodes a response as text, the simulator's history format: a GET's value (null when
     * absent), {@code "true"}/{@code "false"} for a CAS, null for PUT and DELETE.
     *
     * @param response a response written by {@link #apply}
     * @param length   its length
     * @return the result
     */
    public static String decodeResult(final DirectBuffer response, final int length)
    {
        if (length < RESPONSE_HEADER)
        {
            throw new IllegalArgumentException("KV response too short: " + length);
        }
        final byte status = response.getByte(0);
        switch (response.getByte(1))
        {
            case CAS:
                return status == OK ? "true" : "false";
            case GET:
            {
                final int valueLength = response.getInt(2);
                return status == OK && valueLength >= 0 ? response.getStringWithoutLengthUtf8(RESPONSE_HEADER, valueLength) : null;
            }
            default:
                return null;
        }
    }

    /**
     * The hash one entry adds to {@link KvDigest#contentHash()}.
     *
     * @param key   the key
     * @param value its value
     * @return the entry's hash
     */
    public static long entryHash(final String key, final byte[] value)
    {
        final byte[] k = key.getBytes(StandardCharsets.UTF_8);
        return mix(payloadHash(new UnsafeBuffer(k), 0, k.length) * 31 + payloadHash(new UnsafeBuffer(value), 0, value.length));
    }

    /**
     * A 64-bit FNV-1a hash of a payload, used to compare entries cheaply across nodes.
     *
     * @param buffer holds the payload
     * @param offset where it starts
     * @param length its length
     * @return the hash
     */
    public static long payloadHash(final DirectBuffer buffer, final int offset, final int length)
    {
        long hash = 0xcbf29ce484222325L;
        for (int i = 0; i < length; i++)
        {
            hash ^= buffer.getByte(offset + i) & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    /** @return {@link #payloadHash(DirectBuffer, int, int)} of a whole array */
    public static long payloadHash(final byte[] payload)
    {
        return payloadHash(new UnsafeBuffer(payload), 0, payload.length);
    }

    private byte[] replace(final String key, final byte[] value)
    {
        final byte[] previous = value == null ? map.remove(key) : map.put(key, value);
        if (previous != null)
        {
            contentHash -= entryHash(key, previous);
        }
        if (value != null)
        {
            contentHash += entryHash(key, value);
        }
        return previous;
    }

    private static byte[] bytes(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[length];
        buffer.getBytes(offset, bytes);
        return bytes;
    }

    private static boolean matches(final byte[] current, final DirectBuffer payload, final int offset, final int length)
    {
        if (length < 0 || current == null)
        {
            return length < 0 && current == null;
        }
        if (current.length != length)
        {
            return false;
        }
        for (int i = 0; i < length; i++)
        {
            if (current[i] != payload.getByte(offset + i))
            {
                return false;
            }
        }
        return true;
    }

    private static int putField(final MutableDirectBuffer buffer, final int offset, final byte[] bytes)
    {
        if (bytes == null)
        {
            buffer.putShort(offset, (short)-1);
            return offset + 2;
        }
        if (bytes.length > Short.MAX_VALUE)
        {
            throw new IllegalArgumentException("KV field of " + bytes.length + " bytes exceeds " + Short.MAX_VALUE);
        }
        buffer.putShort(offset, (short)bytes.length);
        buffer.putBytes(offset + 2, bytes);
        return offset + 2 + bytes.length;
    }

    private static int writeResponse(final MutableDirectBuffer response, final byte status, final byte kind, final byte[] value)
    {
        response.putByte(0, status);
        response.putByte(1, kind);
        if (value == null)
        {
            response.putInt(2, -1);
            return RESPONSE_HEADER;
        }
        response.putInt(2, value.length);
        response.putBytes(RESPONSE_HEADER, value);
        return RESPONSE_HEADER + value.length;
    }

    private static long mix(final long value)
    {
        long z = value;
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb34fe1a85ec3L;
        return z ^ (z >>> 33);
    }
}
