package io.ringraft.testkit.kv;

import io.ringraft.statemachine.KvStateMachine;
import io.ringraft.testkit.history.OpKind;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One key-value command as carried in a log entry's payload: the operation, the client and op
 * id that let a response be routed back, and the key and values.
 * <p>
 * Layout (little-endian, as Agrona buffers write it): kind code (1 byte), client (4), op id (8),
 * then key, value and expected, each as a length (2 bytes, -1 for absent) and UTF-8 bytes.
 *
 * @param kind     what the command does
 * @param client   the client that issued it
 * @param opId     the client's id for the operation (the history op id in the simulator)
 * @param key      the key, never null
 * @param value    the new value of a PUT or CAS, else null
 * @param expected the expected value of a CAS (null = absent), else null
 */
public record KvCommand(OpKind kind, int client, long opId, String key, String value, String expected)
{
    private static final int HEADER_LENGTH = 1 + 4 + 8;
    private static final OpKind[] KINDS = OpKind.values();

    public KvCommand
    {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(key, "key");
    }

    /** @return the payload bytes of this command, in {@link KvStateMachine}'s command layout */
    public byte[] encode()
    {
        final byte[] keyBytes = bytes(key);
        final byte[] valueBytes = bytes(value);
        final byte[] expectedBytes = bytes(expected);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[KvStateMachine.commandLength(keyBytes, valueBytes, expectedBytes)]);
        KvStateMachine.encodeCommand(buffer, 0, (byte)kind.ordinal(), client, opId, keyBytes, valueBytes, expectedBytes);
        return buffer.byteArray();
    }

    /**
     * @param buffer holds an encoded command
     * @param offset where it starts
     * @param length its length
     * @return the command
     * @throws IllegalArgumentException if the bytes are not an encoded command
     */
    public static KvCommand decode(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < HEADER_LENGTH + 6)
        {
            throw new IllegalArgumentException("KV command too short: " + length + " bytes");
        }
        final int code = buffer.getByte(offset);
        if (code < 0 || code >= KINDS.length)
        {
            throw new IllegalArgumentException("unknown KV command kind " + code);
        }
        final int client = buffer.getInt(offset + 1);
        final long opId = buffer.getLong(offset + 5);
        final int[] cursor = {offset + HEADER_LENGTH};
        final int end = offset + length;
        final String key = getString(buffer, cursor, end);
        final String value = getString(buffer, cursor, end);
        final String expected = getString(buffer, cursor, end);
        if (key == null)
        {
            throw new IllegalArgumentException("KV command without a key");
        }
        return new KvCommand(KINDS[code], client, opId, key, value, expected);
    }

    /** @return the command decoded from a whole array */
    public static KvCommand decode(final byte[] payload)
    {
        return decode(new UnsafeBuffer(payload), 0, payload.length);
    }

    private static byte[] bytes(final String s)
    {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static String getString(final DirectBuffer buffer, final int[] cursor, final int end)
    {
        if (cursor[0] + 2 > end)
        {
            throw new IllegalArgumentException("truncated KV command");
        }
        final int length = buffer.getShort(cursor[0]);
        cursor[0] += 2;
        if (length < 0)
        {
            return null;
        }
        if (cursor[0] + length > end)
        {
            throw new IllegalArgumentException("truncated KV command string of " + length + " bytes");
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(cursor[0], bytes);
        cursor[0] += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
