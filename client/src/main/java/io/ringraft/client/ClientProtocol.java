package io.ringraft.client;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The client protocol between {@link RingraftClient} and a service node's client ingress, over
 * Aeron UDP on stream {@value #STREAM_ID}. Every integer is little-endian (Agrona's default).
 * <pre>
 * request (client to node)                 offset size
 *   magic        0x5252 ("RR")               0    2
 *   version      1                           2    1
 *   type         OPEN 1, COMMAND 2,          3    1
 *                KEEPALIVE 3, QUERY 4,
 *                STATUS 5, CLOSE 6;
 *                | FLAG_SIGNED 0x40
 *   clusterId    0 = any                     4    4
 *   sessionId    0 for OPEN                  8    8
 *   correlation  OPEN: the client's nonce;  16    8
 *                COMMAND: the sequence;
 *                others: a request id
 *   floor        every sequence at or      24    8
 *                below has its outcome at the client
 *   then per type:
 *     OPEN       u16 length + UTF-8 "host:port" of the client's response channel
 *     COMMAND    the command bytes (the rest of the frame)
 *     QUERY      u8 mode (0 local, 1 linearizable), 3 reserved, then the query bytes
 *
 * response (node to client)
 *   magic, version                           0    3
 *   type         0x80 | the request's type   3    1
 *                | FLAG_SIGNED 0x40
 *   clusterId                                4    4
 *   sessionId                                8    8
 *   correlation  the request's              16    8
 *   status       see the constants          24    1
 *   flags        FLAG_DUPLICATE             25    1
 *   reserved                                26    2
 *   payloadLength                           28    4
 *   index        log index of a command,    32    8
 *                the applied index a query saw
 *   leaderId     known leader or -1         40    8
 *   value        OPEN: the new session id;  48    8
 *                STATUS: the node's role ordinal
 *   then the payload: the service's response, the leader's client endpoint (REDIRECT),
 *   a message (BAD_REQUEST), or for STATUS five longs: node id, term, commit index,
 *   applied index, cluster time
 * </pre>
 * A node answers a session's requests only on the response channel the session was opened
 * with (replicated with the session); an OPEN is answered on the channel it names.
 * <p>
 * A frame with {@link #FLAG_SIGNED} in its type byte ends with a signature
 * ({@link io.ringraft.transport.aeron.ClientAuth}: the signer's id, then key id, epoch, sequence
 * and MAC over everything before it): a client with credentials signs every request with its
 * key, and the node answers it signed with the same key. A session opened by a signed OPEN
 * belongs to its client (replicated with the session): only frames signed by that client reach it.
 */
public final class ClientProtocol
{
    /** The Aeron stream id of client requests and responses. */
    public static final int STREAM_ID = 1201;

    /** Opens a session (through the log). */
    public static final byte OPEN = 1;
    /** A command for the service (through the log). */
    public static final byte COMMAND = 2;
    /** Keeps an idle session alive (through the log). */
    public static final byte KEEPALIVE = 3;
    /** A read of the service's state, not through the log. */
    public static final byte QUERY = 4;
    /** The node's role, term, leader and indexes, answered by that node. */
    public static final byte STATUS = 5;
    /** Closes the session (through the log). */
    public static final byte CLOSE = 6;

    /** QUERY mode: read this node's state as it is (may be stale). */
    public static final byte QUERY_LOCAL = 0;
    /** QUERY mode: read on the leader after a ReadIndex barrier (linearizable). */
    public static final byte QUERY_LINEARIZABLE = 1;

    /** Applied (or answered) now; the payload is the response. */
    public static final int OK = 0;
    /** Applied earlier; its response is no longer held (the session's response cache is bounded). */
    public static final int RESPONSE_EVICTED = 1;
    /** This node is not the leader; the payload names the leader's client endpoint. Not written. */
    public static final int REDIRECT = 2;
    /** No leader is known right now. Not written. */
    public static final int NO_LEADER = 3;
    /** The node is overloaded (ring full, too many requests in flight). Not written. */
    public static final int BUSY = 4;
    /** The session has more commands applied but unacknowledged than its window allows. Not applied. */
    public static final int WINDOW_FULL = 5;
    /** The session is not open (never opened, expired or closed). Not applied. */
    public static final int UNKNOWN_SESSION = 6;
    /** The cluster holds as many sessions as it may: the OPEN is refused. */
    public static final int SESSION_LIMIT = 7;
    /** The request is malformed, too large or for another cluster; the payload says which. Not written. */
    public static final int BAD_REQUEST = 8;
    /** A new leader's log replaced the entry: definitely not applied. */
    public static final int ABORTED = 9;
    /** The node accepted the command but does not know whether it committed (timed out, shut down). */
    public static final int UNKNOWN_OUTCOME = 10;
    /** The sequence is at or below the floor the session acknowledged: never applied again. */
    public static final int STALE = 11;
    /**
     * A local query refused: the node restarted and has not yet applied the commit index it had
     * seen before it stopped, so its state may lack writes it had seen committed. Ask again later or
     * ask another member.
     */
    public static final int NOT_READY = 12;

    /** Type-byte flag of requests and responses: the frame ends with a {@link io.ringraft.transport.aeron.ClientAuth} signature. */
    public static final int FLAG_SIGNED = 0x40;

    /** Response flag: the command had been applied before; this is its cached response. */
    public static final int FLAG_DUPLICATE = 1;

    /** Length of a request's fixed header. */
    public static final int REQUEST_HEADER = 32;
    /** Length of a response's fixed header. */
    public static final int RESPONSE_HEADER = 56;
    /** Longs in a STATUS response's payload. */
    public static final int STATUS_LONGS = 5;

    static final short MAGIC = 0x5252;
    static final byte VERSION = 1;

    private ClientProtocol()
    {
    }

    /**
     * @param status a status code of this class
     * @return its name
     */
    public static String statusName(final int status)
    {
        switch (status)
        {
            case OK: return "OK";
            case RESPONSE_EVICTED: return "RESPONSE_EVICTED";
            case REDIRECT: return "REDIRECT";
            case NO_LEADER: return "NO_LEADER";
            case BUSY: return "BUSY";
            case WINDOW_FULL: return "WINDOW_FULL";
            case UNKNOWN_SESSION: return "UNKNOWN_SESSION";
            case SESSION_LIMIT: return "SESSION_LIMIT";
            case BAD_REQUEST: return "BAD_REQUEST";
            case ABORTED: return "ABORTED";
            case UNKNOWN_OUTCOME: return "UNKNOWN_OUTCOME";
            case STALE: return "STALE";
            case NOT_READY: return "NOT_READY";
            default: return "STATUS(" + status + ")";
        }
    }

    /**
     * @param status a status code
     * @return true if the status says the command was definitely not applied, so sending it
     *         again (with the same sequence) is the right move
     */
    public static boolean isNotWritten(final int status)
    {
        return status == REDIRECT || status == NO_LEADER || status == BUSY || status == WINDOW_FULL || status == ABORTED;
    }

    /**
     * Marks a frame (request or response) as signed: its signature follows its content.
     *
     * @param buffer holds the frame
     * @param offset where it starts
     */
    public static void markSigned(final MutableDirectBuffer buffer, final int offset)
    {
        buffer.putByte(offset + 3, (byte)(buffer.getByte(offset + 3) | FLAG_SIGNED));
    }

    /**
     * @param buffer holds a frame (request or response)
     * @param offset where it starts
     * @param length its length
     * @return true if the frame says it is signed
     */
    public static boolean isSigned(final DirectBuffer buffer, final int offset, final int length)
    {
        return length >= 4 && (buffer.getByte(offset + 3) & FLAG_SIGNED) != 0;
    }

    /**
     * Writes a request header.
     *
     * @return the header's length, {@link #REQUEST_HEADER}
     */
    public static int encodeRequestHeader(final MutableDirectBuffer buffer, final int offset, final byte type, final int clusterId,
        final long sessionId, final long correlation, final long floor)
    {
        buffer.putShort(offset, MAGIC);
        buffer.putByte(offset + 2, VERSION);
        buffer.putByte(offset + 3, type);
        buffer.putInt(offset + 4, clusterId);
        buffer.putLong(offset + 8, sessionId);
        buffer.putLong(offset + 16, correlation);
        buffer.putLong(offset + 24, floor);
        return REQUEST_HEADER;
    }

    /**
     * Writes a response header.
     *
     * @return the header's length, {@link #RESPONSE_HEADER}
     */
    public static int encodeResponseHeader(final MutableDirectBuffer buffer, final int offset, final byte requestType, final int clusterId,
        final long sessionId, final long correlation, final int status, final int flags, final int payloadLength, final long index,
        final long leaderId, final long value)
    {
        buffer.putShort(offset, MAGIC);
        buffer.putByte(offset + 2, VERSION);
        buffer.putByte(offset + 3, (byte)(0x80 | requestType));
        buffer.putInt(offset + 4, clusterId);
        buffer.putLong(offset + 8, sessionId);
        buffer.putLong(offset + 16, correlation);
        buffer.putByte(offset + 24, (byte)status);
        buffer.putByte(offset + 25, (byte)flags);
        buffer.putShort(offset + 26, (short)0);
        buffer.putInt(offset + 28, payloadLength);
        buffer.putLong(offset + 32, index);
        buffer.putLong(offset + 40, leaderId);
        buffer.putLong(offset + 48, value);
        return RESPONSE_HEADER;
    }

    /**
     * A reusable view of a request frame: fields decoded in place, payload as offsets into the
     * frame's buffer; never throws on hostile bytes.
     */
    public static final class Request
    {
        /** The request type. */
        public byte type;
        /** The cluster id it names. */
        public int clusterId;
        /** Its session id. */
        public long sessionId;
        /** Its correlation (nonce, sequence or request id). */
        public long correlation;
        /** Its acknowledged floor. */
        public long floor;
        /** Where the type-specific part starts (the command bytes, the endpoint, the query bytes). */
        public int bodyOffset;
        /** Its length. */
        public int bodyLength;
        /** QUERY only: the mode. */
        public byte queryMode;

        /**
         * Decodes a frame.
         *
         * @return null if the frame is a well-formed request, else what is wrong with it
         */
        public String decode(final DirectBuffer buffer, final int offset, final int length)
        {
            type = 0;
            if (length < REQUEST_HEADER)
            {
                return "request of " + length + " bytes is shorter than the header";
            }
            if (buffer.getShort(offset) != MAGIC || buffer.getByte(offset + 2) != VERSION)
            {
                return "not a ringraft client request (magic/version)";
            }
            type = (byte)(buffer.getByte(offset + 3) & ~FLAG_SIGNED);
            clusterId = buffer.getInt(offset + 4);
            sessionId = buffer.getLong(offset + 8);
            correlation = buffer.getLong(offset + 16);
            floor = buffer.getLong(offset + 24);
            bodyOffset = offset + REQUEST_HEADER;
            bodyLength = length - REQUEST_HEADER;
            switch (type)
            {
                case OPEN:
                {
                    if (bodyLength < 2)
                    {
                        return "truncated OPEN";
                    }
                    final int endpointLength = buffer.getShort(bodyOffset) & 0xFFFF;
                    if (endpointLength == 0 || endpointLength > 255 || 2 + endpointLength != bodyLength)
                    {
                        return "OPEN with a response endpoint of " + endpointLength + " bytes in " + bodyLength;
                    }
                    bodyOffset += 2;
                    bodyLength = endpointLength;
                    return null;
                }
                case QUERY:
                    if (bodyLength < 4)
                    {
                        return "truncated QUERY";
                    }
                    queryMode = buffer.getByte(bodyOffset);
                    if (queryMode != QUERY_LOCAL && queryMode != QUERY_LINEARIZABLE)
                    {
                        return "QUERY of unknown mode " + queryMode;
                    }
                    bodyOffset += 4;
                    bodyLength -= 4;
                    return null;
                case COMMAND:
                case KEEPALIVE:
                case STATUS:
                case CLOSE:
                    return null;
                default:
                    return "unknown request type " + type;
            }
        }
    }

    /** A reusable view of a response frame. */
    public static final class Response
    {
        /** The request type it answers. */
        public byte requestType;
        /** Its cluster id. */
        public int clusterId;
        /** Its session id. */
        public long sessionId;
        /** The request's correlation. */
        public long correlation;
        /** A status of this class. */
        public int status;
        /** Flags ({@link #FLAG_DUPLICATE}). */
        public int flags;
        /** The log index of a command, or the applied index a query saw. */
        public long index;
        /** The known leader, or -1. */
        public long leaderId;
        /** The new session id of an OPEN, the role ordinal of a STATUS. */
        public long value;
        /** Where the payload starts in the buffer. */
        public int payloadOffset;
        /** Its length. */
        public int payloadLength;

        /**
         * @return true if the frame is a well-formed response
         */
        public boolean decode(final DirectBuffer buffer, final int offset, final int length)
        {
            if (length < RESPONSE_HEADER || buffer.getShort(offset) != MAGIC || buffer.getByte(offset + 2) != VERSION ||
                (buffer.getByte(offset + 3) & 0x80) == 0)
            {
                return false;
            }
            payloadLength = buffer.getInt(offset + 28);
            if (payloadLength < 0 || payloadLength > length - RESPONSE_HEADER)
            {
                return false;
            }
            requestType = (byte)(buffer.getByte(offset + 3) & ~(0x80 | FLAG_SIGNED));
            clusterId = buffer.getInt(offset + 4);
            sessionId = buffer.getLong(offset + 8);
            correlation = buffer.getLong(offset + 16);
            status = buffer.getByte(offset + 24) & 0xFF;
            flags = buffer.getByte(offset + 25) & 0xFF;
            index = buffer.getLong(offset + 32);
            leaderId = buffer.getLong(offset + 40);
            value = buffer.getLong(offset + 48);
            payloadOffset = offset + RESPONSE_HEADER;
            return true;
        }
    }
}
