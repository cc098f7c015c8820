package io.ringraft.server.kv;

import io.ringraft.LogId;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The example key-value state machine: a map from UTF-8 keys to byte values, changed by the
 * commands {@link KvProtocol} defines (put, delete, compare-and-set), readable from any thread
 * ({@link #get}), with a {@link KvDigest} of its history for checking that nodes agree, and
 * snapshots of the whole map.
 * <p>
 * Each command's response (at offset 0 of the response buffer): status (1 byte, {@link
 * KvProtocol#OK}, {@link KvProtocol#NOT_FOUND} or {@link KvProtocol#CAS_FAILED}), value length
 * (i32, -1 = absent), value bytes — the current value for a failed CAS, else none.
 */
public final class KvStateMachine implements RaftStateMachine
{
    private static final int SNAPSHOT_MAGIC = 0x4B56534E; // "NSVK"
    private static final int SNAPSHOT_VERSION = 1;

    private final ConcurrentHashMap<String, byte[]> map = new ConcurrentHashMap<>();
    private final ExpandableArrayBuffer snapshotBuffer = new ExpandableArrayBuffer(64 * 1024);
    private volatile KvDigest digest = KvDigest.EMPTY;
    private volatile LogId lastApplied = LogId.ZERO;
    private long appliedCount;
    private long chainHash;
    private long contentHash;

    @Override
    public LogId lastApplied()
    {
        return lastApplied;
    }

    @Override
    public int apply(final long index, final long term, final DirectBuffer payload, final int offset, final int length,
        final MutableDirectBuffer response)
    {
        appliedCount++;
        chainHash = mix(chainHash ^ mix(index * 0x9E3779B97F4A7C15L + term) ^ hash(payload, offset, length));
        if (length < KvProtocol.COMMAND_HEADER)
        {
            // Not a command of this state machine: applied (and hashed) as a no-op, as every node does.
            return writeResponse(response, KvProtocol.NOT_FOUND, null);
        }
        final int op = payload.getByte(offset);
        final int keyLength = payload.getInt(offset + 4);
        final int valueLength = payload.getInt(offset + 8);
        final int expectedLength = payload.getInt(offset + 12);
        final int keyOffset = offset + KvProtocol.COMMAND_HEADER;
        final String key = payload.getStringWithoutLengthUtf8(keyOffset, keyLength);
        final int valueOffset = keyOffset + keyLength;
        final int expectedOffset = valueOffset + Math.max(0, valueLength);
        switch (op)
        {
            case KvProtocol.PUT:
            {
                final byte[] value = new byte[valueLength];
                payload.getBytes(valueOffset, value);
                replace(key, value);
                return writeResponse(response, KvProtocol.OK, null);
            }
            case KvProtocol.DELETE:
                return writeResponse(response, replace(key, null) == null ? KvProtocol.NOT_FOUND : KvProtocol.OK, null);
            case KvProtocol.CAS:
            {
                final byte[] current = map.get(key);
                if (!matches(current, payload, expectedOffset, expectedLength))
                {
                    return writeResponse(response, KvProtocol.CAS_FAILED, current);
                }
                final byte[] value = new byte[valueLength];
                payload.getBytes(valueOffset, value);
                replace(key, value);
                return writeResponse(response, KvProtocol.OK, null);
            }
            default:
                return writeResponse(response, KvProtocol.NOT_FOUND, null);
        }
    }

    @Override
    public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
        this.lastApplied = new LogId(lastAppliedTerm, lastAppliedIndex);
        digest = new KvDigest(lastAppliedIndex, appliedCount, chainHash, map.size(), contentHash);
    }

    /**
     * Reads a key from any thread: the value as of some point at or after the last {@link
     * #digest()}'s applied index that this thread could observe.
     *
     * @param key the key
     * @return its value (do not modify it), or null
     */
    public byte[] get(final String key)
    {
        return map.get(key);
    }

    /** @return the digest as of the end of the last applied batch */
    public KvDigest digest()
    {
        return digest;
    }

    /** @return a copy of the whole map (for tests and checks) */
    public Map<String, byte[]> copyOfMap()
    {
        return Map.copyOf(map);
    }

    @Override
    public void buildSnapshot(final SnapshotWriter writer)
    {
        final ExpandableArrayBuffer buffer = snapshotBuffer;
        buffer.putInt(0, SNAPSHOT_MAGIC);
        buffer.putInt(4, SNAPSHOT_VERSION);
        buffer.putLong(8, appliedCount);
        buffer.putLong(16, chainHash);
        buffer.putInt(24, map.size());
        writer.write(buffer, 0, 28);
        for (final Map.Entry<String, byte[]> e : map.entrySet())
        {
            final byte[] key = e.getKey().getBytes(StandardCharsets.UTF_8);
            final byte[] value = e.getValue();
            buffer.putInt(0, key.length);
            buffer.putBytes(4, key);
            buffer.putInt(4 + key.length, value.length);
            buffer.putBytes(8 + key.length, value);
            writer.write(buffer, 0, 8 + key.length + value.length);
        }
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
        digest = new KvDigest(lastApplied.index(), appliedCount, chainHash, map.size(), contentHash);
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
        return mix(hash(new UnsafeBuffer(k), 0, k.length) * 31 + hash(new UnsafeBuffer(value), 0, value.length));
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
        final byte[] expected = new byte[length];
        payload.getBytes(offset, expected);
        return Arrays.equals(current, expected);
    }

    private static int writeResponse(final MutableDirectBuffer response, final int status, final byte[] value)
    {
        response.putByte(0, (byte)status);
        if (value == null)
        {
            response.putInt(1, -1);
            return 5;
        }
        response.putInt(1, value.length);
        response.putBytes(5, value);
        return 5 + value.length;
    }

    private static long hash(final DirectBuffer buffer, final int offset, final int length)
    {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < length; i++)
        {
            h ^= buffer.getByte(offset + i);
            h *= 0x100000001b3L;
        }
        return mix(h ^ length);
    }

    private static long mix(final long value)
    {
        long z = value;
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb34fe1a85ec3L;
        return z ^ (z >>> 33);
    }
}
