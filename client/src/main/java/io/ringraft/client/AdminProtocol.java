package io.ringraft.client;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import org.agrona.DirectBuffer;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The admin protocol: requests to change or show the membership of a running cluster, sent over
 * Aeron UDP to any member's client endpoint on stream {@link #STREAM_ID}; a member that is not
 * the leader answers {@link #REDIRECT} naming the leader's client endpoint. The member's end is
 * the server's {@code AdminService}; the client's end is {@link RingraftClient}'s admin
 * operations. Administration is rare: messages are small and encoded without care for
 * allocation; a frame that is not a valid message decodes to null, never an exception.
 * <pre>
 * request:  magic:int version:byte op:byte flags:short clusterId:int correlation:long node:long timeoutMs:long
 *           replyEndpoint:string endpoint:string voterCount:int voters:long*
 * response: magic:int version:byte op:byte flags:short clusterId:int correlation:long status:int nodeId:long
 *           leaderId:long index:long leaderEndpoint:string message:string hasView:byte [view]
 * view:     role:string term:long commit:long applied:long membershipLength:int membership:bytes (Membership.encode; 0: none yet)
 *           matchCount:int (node:long match:long)*
 * string:   length:int utf8 bytes
 * </pre>
 * Every integer is little-endian.
 * <p>
 * A frame with {@link #FLAG_SIGNED} ends with a {@link io.ringraft.transport.aeron.ClientAuth}
 * signature: the client protocol's authentication, with the same credentials; a node that
 * requires it refuses unsigned requests, and only clients its credentials file marks
 * {@code admin = true} may change anything (any listed client may ask for the status).
 */
public final class AdminProtocol
{
    /** The Aeron stream of admin requests and responses, on the members' client endpoints. */
    public static final int STREAM_ID = 1102;

    /** Show the membership, role, leader, indexes: answered by the member asked. */
    public static final byte STATUS = 1;
    /** Add a learner: {@code node} and its endpoints ("RAFT CLIENT"). */
    public static final byte ADD_LEARNER = 2;
    /** Make the given nodes the voters (joint consensus). */
    public static final byte CHANGE_VOTERS = 3;
    /** Remove a learner or a voter; removing the leader hands leadership over first. */
    public static final byte REMOVE = 4;
    /** Hand leadership to {@code node}. */
    public static final byte TRANSFER = 5;
    /** Build a snapshot on the member asked. */
    public static final byte SNAPSHOT = 6;
    /** Make learner {@code node} a voter (joint consensus). */
    public static final byte PROMOTE = 7;

    /** Flag of {@link #CHANGE_VOTERS} and {@link #PROMOTE}: wait up to the timeout for new voters to catch up instead of refusing at once. */
    public static final int FLAG_WAIT = 1;
    /** Flag of requests and responses: the frame ends with a {@link io.ringraft.transport.aeron.ClientAuth} signature. */
    public static final int FLAG_SIGNED = 0x4000;

    /** A learner this far behind the leader's commit index, or further, has not caught up (a promotion that does not wait for it is refused). */
    public static final long CATCH_UP_SLACK = 1_000;

    /** Ask the leader named in the response. */
    public static final int REDIRECT = 20;
    /** A learner to promote has not caught up; nothing changed. */
    public static final int NOT_CAUGHT_UP = 21;
    /** The request is malformed or names an unknown operation. */
    public static final int BAD_REQUEST = 22;
    /** No leader is known (an election is under way, or the node has not joined yet). */
    public static final int NO_LEADER = 23;
    /**
     * Reported by the client, never sent: no member answered in time. A change sent to the leader
     * may or may not have happened (the message says which was the case).
     */
    public static final int NO_ANSWER = 30;

    static final int MAGIC = 0x44415252; // "RRAD" little-endian
    static final byte VERSION = 2;
    private static final int MAX_STRING = 4096;
    private static final int MAX_VOTERS = 1024;
    private static final int MAX_MEMBERSHIP = 1 << 20;

    private AdminProtocol()
    {
    }

    /** Sets {@link #FLAG_SIGNED} in an encoded request or response. */
    public static void markSigned(final byte[] frame)
    {
        frame[7] |= (byte)(FLAG_SIGNED >> 8);
    }

    /** @return true if the frame (request or response) has {@link #FLAG_SIGNED} */
    public static boolean isSigned(final DirectBuffer buffer, final int offset, final int length)
    {
        return length >= 8 && (buffer.getShort(offset + 6, ByteOrder.LITTLE_ENDIAN) & FLAG_SIGNED) != 0;
    }

    /** @return the name of an admin status: {@link AdminStatus}'s or this protocol's */
    public static String statusName(final int status)
    {
        switch (status)
        {
            case REDIRECT:
                return "REDIRECT";
            case NOT_CAUGHT_UP:
                return "NOT_CAUGHT_UP";
            case BAD_REQUEST:
                return "BAD_REQUEST";
            case NO_LEADER:
                return "NO_LEADER";
            case NO_ANSWER:
                return "NO_ANSWER";
            default:
                return AdminStatus.name(status);
        }
    }

    /**
     * @param matchIndex  the log index a learner is known to hold
     * @param commitIndex the leader's commit index
     * @return true if the learner is within {@link #CATCH_UP_SLACK} of the commit index
     */
    public static boolean caughtUp(final long matchIndex, final long commitIndex)
    {
        return matchIndex + CATCH_UP_SLACK > commitIndex;
    }

    /** @return the name of an operation */
    public static String opName(final byte op)
    {
        switch (op)
        {
            case STATUS:
                return "status";
            case ADD_LEARNER:
                return "add-learner";
            case CHANGE_VOTERS:
                return "voters";
            case REMOVE:
                return "remove";
            case TRANSFER:
                return "transfer";
            case SNAPSHOT:
                return "snapshot";
            case PROMOTE:
                return "promote";
            default:
                return "op " + op;
        }
    }

    /**
     * A request.
     *
     * @param op            the operation
     * @param flags         {@link #FLAG_WAIT} or 0
     * @param clusterId     the cluster, or 0 for any
     * @param correlation   echoed in the response
     * @param node          the node operated on (0 if none)
     * @param timeoutMs     how long the operation may take
     * @param replyEndpoint where to answer (host:port)
     * @param endpoint      the new learner's endpoints, or ""
     * @param voters        the new voters of {@link #CHANGE_VOTERS}, else empty
     */
    public record Request(byte op, int flags, int clusterId, long correlation, long node, long timeoutMs, String replyEndpoint,
        String endpoint, long[] voters)
    {
        /** @return the encoded request */
        public byte[] encode()
        {
            final byte[] reply = replyEndpoint.getBytes(StandardCharsets.UTF_8);
            final byte[] ep = endpoint.getBytes(StandardCharsets.UTF_8);
            final ByteBuffer b = ByteBuffer.allocate(36 + 4 + reply.length + 4 + ep.length + 4 + 8 * voters.length)
                .order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(MAGIC).put(VERSION).put(op).putShort((short)flags).putInt(clusterId).putLong(correlation).putLong(node)
                .putLong(timeoutMs);
            b.putInt(reply.length).put(reply).putInt(ep.length).put(ep).putInt(voters.length);
            for (final long v : voters)
            {
                b.putLong(v);
            }
            return b.array();
        }

        /** @return the request in {@code buffer}, or null if it is not a valid one */
        public static Request decode(final DirectBuffer buffer, final int offset, final int length)
        {
            try
            {
                final ByteBuffer b = wrap(buffer, offset, length);
                if (b.getInt() != MAGIC || b.get() != VERSION)
                {
                    return null;
                }
                final byte op = b.get();
                final int flags = b.getShort();
                final int clusterId = b.getInt();
                final long correlation = b.getLong();
                final long node = b.getLong();
                final long timeoutMs = b.getLong();
                final String reply = string(b);
                final String endpoint = string(b);
                final int count = b.getInt();
                if (reply == null || endpoint == null || count < 0 || count > MAX_VOTERS || count * 8 > b.remaining() || timeoutMs < 0)
                {
                    return null;
                }
                final long[] voters = new long[count];
                for (int i = 0; i < count; i++)
                {
                    voters[i] = b.getLong();
                }
                return new Request(op, flags, clusterId, correlation, node, timeoutMs, reply, endpoint, voters);
            }
            catch (final BufferUnderflowException | IllegalArgumentException ex)
            {
                return null;
            }
        }
    }

    /**
     * A response.
     *
     * @param op             the operation answered
     * @param clusterId      the cluster
     * @param correlation    the request's
     * @param status         an {@link AdminStatus} code or one of this protocol's
     * @param nodeId         the member that answered
     * @param leaderId       the leader, if known (for {@link #REDIRECT})
     * @param index          the log index of the change, or of the snapshot
     * @param leaderEndpoint the client endpoint of the leader the answering member knows (where a {@link #REDIRECT} sends), or ""
     * @param message        why, or what was shown
     * @param view           the answering member's view ({@link #STATUS}), else null
     */
    public record Response(byte op, int clusterId, long correlation, int status, long nodeId, long leaderId, long index,
        String leaderEndpoint, String message, MemberStatus view)
    {
        /** @return the encoded response */
        public byte[] encode()
        {
            final byte[] ep = leaderEndpoint.getBytes(StandardCharsets.UTF_8);
            final byte[] msg = truncate(message).getBytes(StandardCharsets.UTF_8);
            final byte[] role = view == null ? new byte[0] : view.role().getBytes(StandardCharsets.UTF_8);
            final byte[] membership = view == null || view.membership() == null ? new byte[0] : view.membership().encode();
            final int viewLength = view == null ? 0 : 4 + role.length + 24 + 4 + membership.length + 4 + 16 * view.matchIndex().size();
            final ByteBuffer b = ByteBuffer.allocate(48 + 4 + ep.length + 4 + msg.length + 1 + viewLength).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(MAGIC).put(VERSION).put(op).putShort((short)0).putInt(clusterId).putLong(correlation).putInt(status)
                .putLong(nodeId).putLong(leaderId).putLong(index);
            b.putInt(ep.length).put(ep).putInt(msg.length).put(msg);
            b.put((byte)(view == null ? 0 : 1));
            if (view != null)
            {
                b.putInt(role.length).put(role).putLong(view.term()).putLong(view.commitIndex()).putLong(view.appliedIndex());
                b.putInt(membership.length).put(membership).putInt(view.matchIndex().size());
                view.matchIndex().forEach((node, match) -> b.putLong(node).putLong(match));
            }
            return b.array();
        }

        /** @return the response in {@code buffer}, or null if it is not a valid one */
        public static Response decode(final DirectBuffer buffer, final int offset, final int length)
        {
            try
            {
                final ByteBuffer b = wrap(buffer, offset, length);
                if (b.getInt() != MAGIC || b.get() != VERSION)
                {
                    return null;
                }
                final byte op = b.get();
                b.getShort();
                final int clusterId = b.getInt();
                final long correlation = b.getLong();
                final int status = b.getInt();
                final long nodeId = b.getLong();
                final long leaderId = b.getLong();
                final long index = b.getLong();
                final String endpoint = string(b);
                final String message = string(b);
                if (endpoint == null || message == null)
                {
                    return null;
                }
                final byte hasView = b.get();
                MemberStatus view = null;
                if (hasView == 1)
                {
                    view = view(b, nodeId, leaderId);
                    if (view == null)
                    {
                        return null;
                    }
                }
                else if (hasView != 0)
                {
                    return null;
                }
                return new Response(op, clusterId, correlation, status, nodeId, leaderId, index, endpoint, message, view);
            }
            catch (final BufferUnderflowException | IllegalArgumentException ex)
            {
                return null;
            }
        }

        private static MemberStatus view(final ByteBuffer b, final long nodeId, final long leaderId)
        {
            final String role = string(b);
            final long term = b.getLong();
            final long commit = b.getLong();
            final long applied = b.getLong();
            final int membershipLength = b.getInt();
            if (role == null || membershipLength < 0 || membershipLength > MAX_MEMBERSHIP || membershipLength > b.remaining())
            {
                return null;
            }
            Membership membership = null;
            if (membershipLength > 0)
            {
                final byte[] bytes = new byte[membershipLength];
                b.get(bytes);
                membership = Membership.decode(bytes);
            }
            final int matchCount = b.getInt();
            if (matchCount < 0 || matchCount > b.remaining() / 16)
            {
                return null;
            }
            final Map<Long, Long> match = new TreeMap<>();
            for (int i = 0; i < matchCount; i++)
            {
                match.put(b.getLong(), b.getLong());
            }
            return new MemberStatus(nodeId, role, term, leaderId, commit, applied, membership, match);
        }
    }

    private static String truncate(final String message)
    {
        return message.length() > MAX_STRING / 4 ? message.substring(0, MAX_STRING / 4) : message;
    }

    private static ByteBuffer wrap(final DirectBuffer buffer, final int offset, final int length)
    {
        final byte[] bytes = new byte[Math.max(0, length)];
        buffer.getBytes(offset, bytes);
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static String string(final ByteBuffer b)
    {
        final int length = b.getInt();
        if (length < 0 || length > MAX_STRING || length > b.remaining())
        {
            return null;
        }
        final byte[] bytes = new byte[length];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
