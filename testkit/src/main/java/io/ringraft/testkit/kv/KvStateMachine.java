package io.ringraft.testkit.kv;

import io.ringraft.LogId;
import io.ringraft.statemachine.RaftStateMachine;
import io.ringraft.storage.SnapshotMeta;
import io.ringraft.storage.SnapshotReader;
import io.ringraft.storage.SnapshotWriter;
import io.ringraft.testkit.history.Operation;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.LongArrayList;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * An in-memory key-value store replicated through Raft: the state machine of the simulator and
 * of examples. Commands are {@link KvCommand}s; the response of each is its result string
 * (see {@link #decodeResult}). It also records the sequence it applied, (index, term, payload
 * hash) per command, so a checker can compare what different nodes applied.
 * <p>
 * The state is volatile: a new instance starts empty at {@link LogId#ZERO}.
 */
public final class KvStateMachine implements RaftStateMachine
{
    private final TreeMap<String, String> map = new TreeMap<>();
    private final LongArrayList appliedIndexes = new LongArrayList();
    private final LongArrayList appliedTerms = new LongArrayList();
    private final LongArrayList appliedHashes = new LongArrayList();
    private LogId lastApplied = LogId.ZERO;
    private long lastCommandIndex;

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
        appliedIndexes.addLong(index);
        appliedTerms.addLong(term);
        appliedHashes.addLong(payloadHash(payload, offset, length));
        final KvCommand command = KvCommand.decode(payload, offset, length);
        return encodeResult(execute(command), response);
    }

    /**
     * Executes a command against the map.
     *
     * @param command the command
     * @return its result: the value read by a GET (null = absent), "true"/"false" for a CAS, null for PUT and DELETE
     */
    private String execute(final KvCommand command)
    {
        switch (command.kind())
        {
            case PUT:
                map.put(command.key(), command.value());
                return null;
            case GET:
                return map.get(command.key());
            case DELETE:
                map.remove(command.key());
                return null;
            case CAS:
                final String current = map.get(command.key());
                final boolean matches = current == null ? command.expected() == null : current.equals(command.expected());
                if (!matches)
                {
                    return Operation.CAS_FALSE;
                }
                if (command.value() == null)
                {
                    map.remove(command.key());
                }
                else
                {
                    map.put(command.key(), command.value());
                }
                return Operation.CAS_TRUE;
            default:
                throw new IllegalArgumentException("unknown KV command " + command);
        }
    }

    @Override
    public void onBatchEnd(final long lastAppliedIndex, final long lastAppliedTerm)
    {
        final LogId lastApplied = new LogId(lastAppliedTerm, lastAppliedIndex);
        if (lastApplied.index() < this.lastApplied.index())
        {
            throw new IllegalStateException("KV applied point went back from " + this.lastApplied + " to " + lastApplied);
        }
        this.lastApplied = lastApplied;
    }

    /**
     * A local, non-replicated read of the current state (for ReadIndex reads, once the node has
     * applied the read index).
     *
     * @param key the key
     * @return its value, or null if absent
     */
    public String get(final String key)
    {
        return map.get(key);
    }

    /** @return a copy of the whole map */
    public Map<String, String> snapshotOfMap()
    {
        return new TreeMap<>(map);
    }

    /** @return how many commands were applied by this instance */
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
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
        int offset = 0;
        buffer.putLong(offset, lastApplied.term());
        buffer.putLong(offset + 8, lastApplied.index());
        buffer.putInt(offset + 16, map.size());
        offset += 20;
        for (final Map.Entry<String, String> e : map.entrySet())
        {
            offset = putString(buffer, offset, e.getKey());
            offset = putString(buffer, offset, e.getValue());
        }
        writer.write(buffer, 0, offset);
    }

    @Override
    public void installSnapshot(final SnapshotMeta meta, final SnapshotReader reader)
    {
        final long size = reader.size();
        if (size > Integer.MAX_VALUE - 16)
        {
            throw new IllegalArgumentException("KV snapshot too large: " + size);
        }
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer((int)size);
        int read = 0;
        while (read < size)
        {
            final int n = reader.read(read, buffer, read, (int)size - read);
            if (n <= 0)
            {
                throw new IllegalStateException("KV snapshot " + meta.snapshotId() + " ended at " + read + " of " + size + " bytes");
            }
            read += n;
        }
        final int count = buffer.getInt(16);
        final TreeMap<String, String> restored = new TreeMap<>();
        final int[] cursor = {20};
        for (int i = 0; i < count; i++)
        {
            final String key = getString(buffer, cursor);
            final String value = getString(buffer, cursor);
            restored.put(key, value);
        }
        map.clear();
        map.putAll(restored);
        lastApplied = meta.lastIncluded();
        lastCommandIndex = meta.lastIncluded().index();
    }

    /**
     * @param result a command result (null = absent)
     * @param response where to write it
     * @return the encoded length
     */
    public static int encodeResult(final String result, final MutableDirectBuffer response)
    {
        return putString(response, 0, result);
    }

    /**
     * @param response a response written by {@link #apply}
     * @param length   its length
     * @return the result string (null = absent)
     */
    public static String decodeResult(final DirectBuffer response, final int length)
    {
        if (length < 4)
        {
            throw new IllegalArgumentException("KV response too short: " + length);
        }
        return getString(response, new int[] {0});
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

    private static int putString(final MutableDirectBuffer buffer, final int offset, final String s)
    {
        if (s == null)
        {
            buffer.putInt(offset, -1);
            return offset + 4;
        }
        final byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        buffer.putInt(offset, bytes.length);
        buffer.putBytes(offset + 4, bytes);
        return offset + 4 + bytes.length;
    }

    private static String getString(final DirectBuffer buffer, final int[] cursor)
    {
        final int length = buffer.getInt(cursor[0]);
        cursor[0] += 4;
        if (length < 0)
        {
            return null;
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(cursor[0], bytes);
        cursor[0] += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
