package io.ringraft.server.kv;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.charset.StandardCharsets;

/**
 * The example key-value service's wire format between {@link KvClient} and {@link KvService}, and
 * the command format in the Raft log. All integers are little-endian (Agrona's default).
 * <pre>
 * request                                 offset size
 *   magic        0x4B56 ("VK")               0    2
 *   version      1                           2    1
 *   op           PUT 1, GET 2, DELETE 3,     3    1
 *                CAS 4, STATUS 5
 *   flags        1 = linearizable read       4    1
 *   reserved     written 0                   5    3
 *   clusterId    0 = any                     8    4
 *   reserved                                12    4
 *   sessionId    the client's random id     16    8
 *   requestId    unique within the session  24    8
 *   then replyEndpoint (u16 length, UTF-8 "host:port"), key (u16 length, bytes),
 *        value (i32 length, -1 = absent), expected (i32 length, -1 = absent)
 *
 * response
 *   magic, version                           0    3
 *   type         0x80                        3    1
 *   status       see the constants           4    1
 *   reserved                                 5    3
 *   clusterId                                8    4
 *   reserved                                12    4
 *   sessionId                               16    8
 *   requestId                               24    8
 *   index        log index of a write, or   32    8
 *                the applied index a read saw
 *   leaderId     for REDIRECT               40    8
 *   valueLength  -1 = absent                48    4
 *   textLength   u16                        52    2
 *   then value bytes, then text (UTF-8: the leader's client endpoint for REDIRECT, else a message)
 *
 * command in the log
 *   op u8, reserved 3, keyLength i32, valueLength i32 (-1), expectedLength i32 (-1),
 *   sessionId i64, requestId i64 (32 bytes), then key, value, expected bytes
 * </pre>
 * A STATUS response carries in its value {@value #STATUS_LONGS} longs: node id, role ordinal,
 * term, leader id, committed index, and the state machine's {@link KvDigest} fields.
 */
public final class KvProtocol
{
    /** The Aeron stream id of client requests and responses. */
    public static final int STREAM_ID = 1101;

    /** Store {@code value} under {@code key}. */
    public static final byte PUT = 1;
    /** Read {@code key}: from the local state, or after a ReadIndex barrier when linearizable. */
    public static final byte GET = 2;
    /** Remove {@code key}. */
    public static final byte DELETE = 3;
    /** Store {@code value} under {@code key} if its current value is {@code expected} (absent = absent). */
    public static final byte CAS = 4;
    /** The node's role, leader, indexes and state digest (answered locally, never through the log). */
    public static final byte STATUS = 5;

    /** Request flag: serve the GET only after a linearizable read barrier. */
    public static final int FLAG_LINEARIZABLE = 1;

    /** Done (a GET found the key; a write committed and applied). */
    public static final int OK = 0;
    /** GET or DELETE of a key that is absent. */
    public static final int NOT_FOUND = 1;
    /** CAS refused: the current value (in the response) is not the expected one. Committed as a no-op. */
    public static final int CAS_FAILED = 2;
    /** This node is not the leader: the text names the leader's client endpoint. Not written. */
    public static final int REDIRECT = 3;
    /** No leader is known right now. Not written; retry. */
    public static final int NO_LEADER = 4;
    /** The node is overloaded (ring full, too many requests pending). Not written; retry. */
    public static final int BUSY = 5;
    /** The write was accepted but its fate is unknown (timed out, or the node shut down). */
    public static final int UNKNOWN_OUTCOME = 6;
    /** The write was dropped by a new leader or refused while shutting down: definitely not written; retry. */
    public static final int ABORTED = 7;
    /** The request is malformed, too large, or for another cluster; the text says which. */
    public static final int BAD_REQUEST = 8;
    /** Client side only: no answer from any node within the client's timeout. */
    public static final int NO_ANSWER = 9;

    /** Longs in a STATUS response's value. */
    public static final int STATUS_LONGS = 10;

    static final short MAGIC = 0x4B56;
    static final byte VERSION = 1;
    static final byte RESPONSE = (byte)0x80;

    static final int REQUEST_HEADER = 32;
    static final int RESPONSE_HEADER = 54;
    static final int COMMAND_HEADER = 32;

    private KvProtocol()
    {
    }

    /**
     * @param status a status code
     * @return its name
     */
    public static String statusName(final int status)
    {
        switch (status)
        {
            case OK: return "OK";
            case NOT_FOUND: return "NOT_FOUND";
            case CAS_FAILED: return "CAS_FAILED";
            case REDIRECT: return "REDIRECT";
            case NO_LEADER: return "NO_LEADER";
            case BUSY: return "BUSY";
            case UNKNOWN_OUTCOME: return "UNKNOWN_OUTCOME";
            case ABORTED: return "ABORTED";
            case BAD_REQUEST: return "BAD_REQUEST";
            case NO_ANSWER: return "NO_ANSWER";
            default: return "STATUS(" + status + ")";
        }
    }

    /**
     * @param op an op code
     * @return its name
     */
    public static String opName(final int op)
    {
        switch (op)
        {
            case PUT: return "put";
            case GET: return "get";
            case DELETE: return "delete";
            case CAS: return "cas";
            case STATUS: return "status";
            default: return "op(" + op + ")";
        }
    }

    /** @return true for ops that go through the log */
    public static boolean isWrite(final int op)
    {
        return op == PUT || op == DELETE || op == CAS;
    }

    /**
     * Encodes a request.
     *
     * @return its length
     */
    static int encodeRequest(final MutableDirectBuffer buffer, final byte op, final int flags, final int clusterId, final long sessionId,
        final long requestId, final byte[] replyEndpoint, final byte[] key, final byte[] value, final byte[] expected)
    {
        buffer.putShort(0, MAGIC);
        buffer.putByte(2, VERSION);
        buffer.putByte(3, op);
        buffer.putByte(4, (byte)flags);
        buffer.putByte(5, (byte)0);
        buffer.putShort(6, (short)0);
        buffer.putInt(8, clusterId);
        buffer.putInt(12, 0);
        buffer.putLong(16, sessionId);
        buffer.putLong(24, requestId);
        int offset = REQUEST_HEADER;
        offset = putShortBytes(buffer, offset, replyEndpoint);
        offset = putShortBytes(buffer, offset, key);
        offset = putIntBytes(buffer, offset, value);
        offset = putIntBytes(buffer, offset, expected);
        return offset;
    }

    /**
     * Encodes a response.
     *
     * @return its length
     */
    static int encodeResponse(final MutableDirectBuffer buffer, final int status, final int clusterId, final long sessionId,
        final long requestId, final long index, final long leaderId, final DirectBuffer value, final int valueOffset, final int valueLength,
        final byte[] text)
    {
        buffer.putShort(0, MAGIC);
        buffer.putByte(2, VERSION);
        buffer.putByte(3, RESPONSE);
        buffer.putByte(4, (byte)status);
        buffer.putByte(5, (byte)0);
        buffer.putShort(6, (short)0);
        buffer.putInt(8, clusterId);
        buffer.putInt(12, 0);
        buffer.putLong(16, sessionId);
        buffer.putLong(24, requestId);
        buffer.putLong(32, index);
        buffer.putLong(40, leaderId);
        buffer.putInt(48, valueLength);
        final int textLength = text == null ? 0 : text.length;
        buffer.putShort(52, (short)textLength);
        int offset = RESPONSE_HEADER;
        if (valueLength > 0)
        {
            buffer.putBytes(offset, value, valueOffset, valueLength);
            offset += valueLength;
        }
        if (textLength > 0)
        {
            buffer.putBytes(offset, text);
            offset += textLength;
        }
        return offset;
    }

    /**
     * Encodes a log command.
     *
     * @return its length
     */
    static int encodeCommand(final MutableDirectBuffer buffer, final int op, final long sessionId, final long requestId,
        final DirectBuffer src, final int keyOffset, final int keyLength, final int valueOffset, final int valueLength,
        final int expectedOffset, final int expectedLength)
    {
        buffer.putByte(0, (byte)op);
        buffer.putByte(1, (byte)0);
        buffer.putShort(2, (short)0);
        buffer.putInt(4, keyLength);
        buffer.putInt(8, valueLength);
        buffer.putInt(12, expectedLength);
        buffer.putLong(16, sessionId);
        buffer.putLong(24, requestId);
        int offset = COMMAND_HEADER;
        buffer.putBytes(offset, src, keyOffset, keyLength);
        offset += keyLength;
        if (valueLength > 0)
        {
            buffer.putBytes(offset, src, valueOffset, valueLength);
            offset += valueLength;
        }
        if (expectedLength > 0)
        {
            buffer.putBytes(offset, src, expectedOffset, expectedLength);
            offset += expectedLength;
        }
        return offset;
    }

    /** @return the UTF-8 bytes of {@code s}, or null for null */
    static byte[] utf8(final String s)
    {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static int putShortBytes(final MutableDirectBuffer buffer, final int offset, final byte[] bytes)
    {
        final int length = bytes == null ? 0 : bytes.length;
        if (length > 0xFFFF)
        {
            throw new IllegalArgumentException("field of " + length + " bytes exceeds 65535");
        }
        buffer.putShort(offset, (short)length);
        if (length > 0)
        {
            buffer.putBytes(offset + 2, bytes);
        }
        return offset + 2 + length;
    }

    private static int putIntBytes(final MutableDirectBuffer buffer, final int offset, final byte[] bytes)
    {
        if (bytes == null)
        {
            buffer.putInt(offset, -1);
            return offset + 4;
        }
        buffer.putInt(offset, bytes.length);
        buffer.putBytes(offset + 4, bytes);
        return offset + 4 + bytes.length;
    }

    /**
     * A reusable view of a decoded request: offsets into the buffer it was decoded from, no copies.
     */
    static final class Request
    {
        byte op;
        int flags;
        int clusterId;
        long sessionId;
        long requestId;
        int replyOffset;
        int replyLength;
        int keyOffset;
        int keyLength;
        int valueOffset;
        int valueLength;
        int expectedOffset;
        int expectedLength;

        /**
         * @return null if the request is well formed, else what is wrong with it; {@link #replyLength}
         *         is 0 unless the reply endpoint could be decoded
         */
        String decode(final DirectBuffer buffer, final int offset, final int length)
        {
            replyLength = 0;
            if (length < REQUEST_HEADER + 2 + 2 + 4 + 4)
            {
                return "request of " + length + " bytes is too short";
            }
            if (buffer.getShort(offset) != MAGIC || buffer.getByte(offset + 2) != VERSION)
            {
                return "not a ringraft KV request (magic/version)";
            }
            op = buffer.getByte(offset + 3);
            flags = buffer.getByte(offset + 4) & 0xFF;
            clusterId = buffer.getInt(offset + 8);
            sessionId = buffer.getLong(offset + 16);
            requestId = buffer.getLong(offset + 24);
            final int end = offset + length;
            int cursor = offset + REQUEST_HEADER;
            final int reply = buffer.getShort(cursor) & 0xFFFF;
            replyOffset = cursor + 2;
            cursor = replyOffset + reply;
            if (cursor + 2 > end)
            {
                return "truncated request";
            }
            // From here on the reply endpoint is known, so a malformed request gets an answer.
            replyLength = reply;
            keyLength = buffer.getShort(cursor) & 0xFFFF;
            keyOffset = cursor + 2;
            cursor = keyOffset + keyLength;
            if (cursor + 4 > end)
            {
                return "truncated request";
            }
            valueLength = buffer.getInt(cursor);
            valueOffset = cursor + 4;
            cursor = valueOffset + Math.max(0, valueLength);
            if (valueLength < -1 || cursor + 4 > end)
            {
                return "truncated request";
            }
            expectedLength = buffer.getInt(cursor);
            expectedOffset = cursor + 4;
            cursor = expectedOffset + Math.max(0, expectedLength);
            if (expectedLength < -1 || cursor > end)
            {
                return "truncated request";
            }
            if (op < PUT || op > STATUS)
            {
                return "unknown op " + op;
            }
            if (replyLength == 0)
            {
                return "request without a reply endpoint";
            }
            if (op != STATUS && keyLength == 0)
            {
                return "empty key";
            }
            if ((op == PUT || op == CAS) && valueLength < 0)
            {
                return opName(op) + " without a value";
            }
            return null;
        }
    }

    /**
     * A decoded response.
     *
     * @param status    a status code of this class
     * @param sessionId the client session it answers
     * @param requestId the request it answers
     * @param index     the log index of a write, or the applied index a read saw
     * @param leaderId  the leader for {@link #REDIRECT}
     * @param value     the value, or null when absent
     * @param text      the leader's client endpoint for {@link #REDIRECT}, else a message or ""
     */
    record Response(int status, long sessionId, long requestId, long index, long leaderId, byte[] value, String text)
    {
        /**
         * @return the response, or null if the bytes are not a response
         */
        static Response decode(final DirectBuffer buffer, final int offset, final int length)
        {
            if (length < RESPONSE_HEADER || buffer.getShort(offset) != MAGIC || buffer.getByte(offset + 2) != VERSION ||
                buffer.getByte(offset + 3) != RESPONSE)
            {
                return null;
            }
            final int valueLength = buffer.getInt(offset + 48);
            final int textLength = buffer.getShort(offset + 52) & 0xFFFF;
            if (valueLength < -1 || RESPONSE_HEADER + Math.max(0, valueLength) + textLength > length)
            {
                return null;
            }
            byte[] value = null;
            if (valueLength >= 0)
            {
                value = new byte[valueLength];
                buffer.getBytes(offset + RESPONSE_HEADER, value);
            }
            final String text = buffer.getStringWithoutLengthUtf8(offset + RESPONSE_HEADER + Math.max(0, valueLength), textLength);
            return new Response(buffer.getByte(offset + 4), buffer.getLong(offset + 16), buffer.getLong(offset + 24),
                buffer.getLong(offset + 32), buffer.getLong(offset + 40), value, text);
        }
    }
}
