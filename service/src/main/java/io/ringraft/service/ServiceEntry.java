package io.ringraft.service;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The layout of the entries the host writes to the Raft log, and of the host's response to the
 * node that submitted one. Little-endian.
 * <pre>
 * entry                                offset size
 *   type       OPEN 1, COMMAND 2,          0    1
 *              KEEPALIVE 3, CLOSE 6, TICK 7
 *   version    1                           1    1
 *   reserved                               2    6
 *   timestamp  the leader's clock          8    8   (epoch ns: the cluster time, see ServiceHost)
 *   sessionId  0 for OPEN and TICK        16    8
 *   correlation COMMAND: sequence;        24    8
 *              OPEN: the client's nonce
 *   floor      COMMAND: the client's      32    8
 *              acknowledged floor;
 *              OPEN: the id of the client
 *              that signed it (0: unsigned)
 *   body       COMMAND: the command; OPEN: the response endpoint (UTF-8)
 *
 * response                              offset size
 *   status     a ClientProtocol status     0    1
 *   flags      ClientProtocol flags        1    1
 *   reserved                               2    6
 *   value      OPEN: the new session id    8    8
 *   then the service's response
 * </pre>
 */
public final class ServiceEntry
{
    /** A session opens. */
    public static final byte OPEN = 1;
    /** A session's command. */
    public static final byte COMMAND = 2;
    /** A session is still there. */
    public static final byte KEEPALIVE = 3;
    /** A session closes. */
    public static final byte CLOSE = 6;
    /** Advances cluster time so that due timers fire. */
    public static final byte TICK = 7;

    /** Length of an entry's header. */
    public static final int HEADER = 40;
    /** Length of the host's response header. */
    public static final int RESPONSE_HEADER = 16;

    static final byte VERSION = 1;

    private ServiceEntry()
    {
    }

    /**
     * Writes an entry header.
     *
     * @return {@link #HEADER}
     */
    public static int encodeHeader(final MutableDirectBuffer buffer, final int offset, final byte type, final long timestampNs,
        final long sessionId, final long correlation, final long floor)
    {
        buffer.putByte(offset, type);
        buffer.putByte(offset + 1, VERSION);
        buffer.putShort(offset + 2, (short)0);
        buffer.putInt(offset + 4, 0);
        buffer.putLong(offset + 8, timestampNs);
        buffer.putLong(offset + 16, sessionId);
        buffer.putLong(offset + 24, correlation);
        buffer.putLong(offset + 32, floor);
        return HEADER;
    }

    static byte type(final DirectBuffer buffer, final int offset)
    {
        return buffer.getByte(offset);
    }

    static boolean isEntry(final DirectBuffer buffer, final int offset, final int length)
    {
        return length >= HEADER && buffer.getByte(offset + 1) == VERSION;
    }

    static long timestamp(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + 8);
    }

    static long sessionId(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + 16);
    }

    static long correlation(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + 24);
    }

    static long floor(final DirectBuffer buffer, final int offset)
    {
        return buffer.getLong(offset + 32);
    }

    static int writeResponse(final MutableDirectBuffer response, final int status, final int flags, final long value)
    {
        response.putByte(0, (byte)status);
        response.putByte(1, (byte)flags);
        response.putShort(2, (short)0);
        response.putInt(4, 0);
        response.putLong(8, value);
        return RESPONSE_HEADER;
    }
}
