package io.ringraft.server.kv;

import io.ringraft.statemachine.KvStateMachine;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

import java.nio.charset.StandardCharsets;

/**
 * The example key-value service's formats on top of the client protocol
 * ({@link io.ringraft.client.ClientProtocol}): its commands are {@link KvStateMachine} commands;
 * its queries (not through the log) are
 * <pre>
 *   GET    2   then the key bytes      answer: status (1 byte), value length (i32, -1 = absent), value
 *   DIGEST 6                           answer: the five longs of the node's {@link io.ringraft.statemachine.KvDigest}
 * </pre>
 * and the statuses below are what {@link KvClient} reports: the state machine's answer for a
 * command that was applied, or how the request ended otherwise.
 */
public final class KvProtocol
{
    /** Store {@code value} under {@code key}. */
    public static final byte PUT = 1;
    /** Read {@code key}: on the node (local) or on the leader after a ReadIndex barrier (linearizable). */
    public static final byte GET = 2;
    /** Remove {@code key}. */
    public static final byte DELETE = 3;
    /** Store {@code value} under {@code key} if its current value is {@code expected} (absent = absent). */
    public static final byte CAS = 4;
    /** Query: the node's state digest. */
    public static final byte DIGEST = 6;

    /** Done (a GET found the key; a write was applied). */
    public static final int OK = 0;
    /** GET or DELETE of a key that is absent. */
    public static final int NOT_FOUND = 1;
    /** CAS refused: the current value (in the response) is not the expected one. Applied as a no-op. */
    public static final int CAS_FAILED = 2;
    /** No leader answered within the timeout. Not written. */
    public static final int NO_LEADER = 4;
    /** The write's fate is unknown: no answer within the client's timeout (the cluster applies it at most once). */
    public static final int UNKNOWN_OUTCOME = 6;
    /** The session closed before the write was applied: definitely not written. */
    public static final int ABORTED = 7;
    /** The request is malformed, too large, or for another cluster; the text says which. */
    public static final int BAD_REQUEST = 8;
    /** Client side only: no answer from any node within the client's timeout. */
    public static final int NO_ANSWER = 9;

    /** Longs in a DIGEST answer. */
    public static final int DIGEST_LONGS = 5;

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
            case NO_LEADER: return "NO_LEADER";
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
            case DIGEST: return "digest";
            default: return "op(" + op + ")";
        }
    }

    /** @return true for ops that go through the log */
    public static boolean isWrite(final int op)
    {
        return op == PUT || op == DELETE || op == CAS;
    }

    /**
     * @param op {@link #PUT}, {@link #DELETE} or {@link #CAS}
     * @return the state machine's command kind
     */
    static byte kind(final int op)
    {
        switch (op)
        {
            case PUT: return KvStateMachine.PUT;
            case DELETE: return KvStateMachine.DELETE;
            case CAS: return KvStateMachine.CAS;
            default: throw new IllegalArgumentException("not a write: " + opName(op));
        }
    }

    /** @return the bytes of a GET query */
    static byte[] getQuery(final String key)
    {
        final byte[] k = key.getBytes(StandardCharsets.UTF_8);
        final byte[] q = new byte[1 + k.length];
        q[0] = GET;
        System.arraycopy(k, 0, q, 1, k.length);
        return q;
    }

    /** @return the bytes of a DIGEST query */
    static byte[] digestQuery()
    {
        return new byte[] {DIGEST};
    }

    /**
     * Writes a GET answer.
     *
     * @return its length
     */
    static int writeValue(final MutableDirectBuffer buffer, final int offset, final byte[] value)
    {
        buffer.putByte(offset, (byte)(value == null ? NOT_FOUND : OK));
        buffer.putInt(offset + 1, value == null ? -1 : value.length);
        if (value != null)
        {
            buffer.putBytes(offset + 5, value);
        }
        return 5 + (value == null ? 0 : value.length);
    }

    /** @return the value of a GET answer, or null if absent or malformed */
    static byte[] readValue(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < 5)
        {
            return null;
        }
        final int valueLength = buffer.getInt(offset + 1);
        if (valueLength < 0 || 5 + valueLength > length)
        {
            return null;
        }
        final byte[] value = new byte[valueLength];
        buffer.getBytes(offset + 5, value);
        return value;
    }
}
