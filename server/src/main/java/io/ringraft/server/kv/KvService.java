package io.ringraft.server.kv;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.Raft;
import io.ringraft.RaftException;
import io.ringraft.RaftMetrics;
import io.ringraft.Vote;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.server.MemberEndpoints;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.IntArrayQueue;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Serves the example key-value service of one node on its client endpoint: an {@link Agent} that
 * polls client requests from an Aeron subscription, turns writes into {@link Raft#clientWrite}
 * calls and reads into local reads (after {@link Raft#ensureLinearizable()} when asked), and
 * answers each request once on an Aeron publication to the client's reply endpoint.
 * <p>
 * A node that is not the leader answers a write with {@link KvProtocol#REDIRECT} naming the
 * leader's client endpoint, or {@link KvProtocol#NO_LEADER}; nothing is written then. Outcomes
 * come back from the node's threads through a many-to-one ring buffer, so every publication is
 * used by this agent's thread alone.
 * <p>
 * Shutdown ({@link #shutdown(long)}): the agent closes the Raft node itself (so that a node in
 * {@link io.ringraft.ThreadingMode#INVOKER} mode, which this agent drives, is never closed while
 * it works), sends the answers that closing produced, then closes its Aeron resources.
 */
public final class KvService implements Agent
{
    private static final int MAX_PENDING_WRITES = 1 << 16;
    private static final int RESULTS_CAPACITY = 8 * 1024 * 1024;
    private static final int WRITE_RESULT = 1;
    private static final int READ_RESULT = 2;
    private static final long CONNECT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);
    private static final long SESSION_IDLE_NS = TimeUnit.SECONDS.toNanos(30);

    private final Raft raft;
    private final KvStateMachine stateMachine;
    private final long nodeId;
    private final int clusterId;
    private final Map<Long, String> clientEndpoints;
    private final int termLength;
    private final Aeron aeron;
    private final AgentInvoker conductor;
    private final Subscription subscription;
    private final FragmentAssembler assembler;
    private final KvProtocol.Request request = new KvProtocol.Request();
    private final ExpandableArrayBuffer commandBuffer = new ExpandableArrayBuffer(1024);
    private final ExpandableArrayBuffer sendBuffer = new ExpandableArrayBuffer(1024);
    private final ManyToOneRingBuffer results;
    private final ConcurrentLinkedQueue<byte[]> overflow = new ConcurrentLinkedQueue<>();
    private final Long2ObjectHashMap<Session> sessions = new Long2ObjectHashMap<>();
    private final long[] pendingSession = new long[MAX_PENDING_WRITES];
    private final long[] pendingRequest = new long[MAX_PENDING_WRITES];
    private final IntArrayQueue freeSlots = new IntArrayQueue(MAX_PENDING_WRITES, -1);
    private final WriteHandler writeHandler = this::onWriteResult;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final boolean driveRaft;
    private volatile boolean closeRequested;
    private long lastHousekeepingNs;

    /**
     * Starts serving.
     *
     * @param raft            the node
     * @param stateMachine    its state machine
     * @param clusterId       requests naming another cluster id (other than 0) are refused
     * @param clientEndpoints every member's client endpoint, for redirects
     * @param aeronDirectory  the media driver to use
     * @param termLength      term length of the publications to clients
     * @param driveRaft       true if the node runs in {@link io.ringraft.ThreadingMode#INVOKER} mode and
     *                        this agent's duty cycle must drive it
     */
    public KvService(final Raft raft, final KvStateMachine stateMachine, final int clusterId, final Map<Long, String> clientEndpoints,
        final String aeronDirectory, final int termLength, final boolean driveRaft)
    {
        this.raft = raft;
        this.stateMachine = stateMachine;
        this.nodeId = raft.nodeId();
        this.clusterId = clusterId;
        this.clientEndpoints = Map.copyOf(clientEndpoints);
        this.termLength = termLength;
        this.driveRaft = driveRaft;
        for (int i = 0; i < MAX_PENDING_WRITES; i++)
        {
            freeSlots.addInt(i);
        }
        this.results = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(RESULTS_CAPACITY + RingBufferDescriptor.TRAILER_LENGTH)));
        final String listen = clientEndpoints.get(nodeId);
        this.aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDirectory).useConductorAgentInvoker(true)
            .errorHandler(ex -> System.err.println("ringraft node " + nodeId + " kv service: " + ex)));
        this.conductor = aeron.conductorAgentInvoker();
        try
        {
            this.subscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(listen).build(),
                KvProtocol.STREAM_ID);
        }
        catch (final RuntimeException ex)
        {
            aeron.close();
            throw ex;
        }
        this.assembler = new FragmentAssembler(this::onFragment);
    }

    @Override
    public String roleName()
    {
        return "ringraft-kv-" + nodeId;
    }

    @Override
    public int doWork()
    {
        if (closed.getCount() == 0)
        {
            return 0;
        }
        if (closeRequested)
        {
            finish();
            return 1;
        }
        int work = conductor.invoke();
        if (driveRaft)
        {
            work += raft.doWork();
        }
        work += drainResults();
        work += subscription.poll(assembler, 64);
        final long now = System.nanoTime();
        if (now - lastHousekeepingNs > 10_000_000L)
        {
            lastHousekeepingNs = now;
            work += housekeeping(now);
        }
        return work;
    }

    /**
     * Closes the node and this service: pending requests are answered (writes the node had
     * accepted with {@link KvProtocol#UNKNOWN_OUTCOME}), then the Aeron resources are closed.
     *
     * @param timeoutMs how long to wait for the agent to finish
     * @return true if it finished in time
     */
    public boolean shutdown(final long timeoutMs)
    {
        closeRequested = true;
        try
        {
            return closed.await(timeoutMs, TimeUnit.MILLISECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * Closes everything from the calling thread when the agent no longer runs (it never started,
     * or its runner was closed before {@link #shutdown(long)} finished).
     */
    public void closeFromOwner()
    {
        if (closed.getCount() > 0)
        {
            finish();
        }
    }

    private void finish()
    {
        try
        {
            raft.close();
            drainResults();
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (hasBacklog() && System.nanoTime() < deadline)
            {
                conductor.invoke();
                housekeeping(System.nanoTime());
                LockSupport.parkNanos(100_000);
            }
        }
        finally
        {
            for (final Session session : sessions.values())
            {
                CloseHelper.quietClose(session.publication);
            }
            sessions.clear();
            CloseHelper.quietCloseAll(subscription, aeron);
            closed.countDown();
        }
    }

    private boolean hasBacklog()
    {
        for (final Session session : sessions.values())
        {
            if (!session.backlog.isEmpty() && session.publication.isConnected())
            {
                return true;
            }
        }
        return false;
    }

    private int housekeeping(final long now)
    {
        int work = 0;
        final Iterator<Session> it = sessions.values().iterator();
        while (it.hasNext())
        {
            final Session session = it.next();
            work += session.flush();
            final boolean neverConnected = !session.everConnected && now - session.createdNs > CONNECT_TIMEOUT_NS;
            final boolean idle = session.backlog.isEmpty() && now - session.lastActivityNs > SESSION_IDLE_NS;
            final boolean gone = session.everConnected && !session.publication.isConnected() &&
                now - session.lastActivityNs > CONNECT_TIMEOUT_NS;
            if (neverConnected || idle || gone)
            {
                CloseHelper.quietClose(session.publication);
                it.remove();
            }
        }
        return work;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final String problem = request.decode(buffer, offset, length);
        if (request.replyLength == 0)
        {
            return; // nowhere to answer
        }
        final Session session = session(buffer);
        if (session == null)
        {
            return;
        }
        session.lastActivityNs = System.nanoTime();
        if (problem != null)
        {
            respond(session, request.requestId, KvProtocol.BAD_REQUEST, 0, Vote.NO_NODE, null, 0, -1, problem);
            return;
        }
        if (request.clusterId != 0 && request.clusterId != clusterId)
        {
            respond(session, request.requestId, KvProtocol.BAD_REQUEST, 0, Vote.NO_NODE, null, 0, -1,
                "request for cluster " + request.clusterId + " reached node " + nodeId + " of cluster " + clusterId);
            return;
        }
        switch (request.op)
        {
            case KvProtocol.STATUS:
                onStatus(session);
                break;
            case KvProtocol.GET:
                onGet(session, buffer);
                break;
            default:
                onWrite(session, buffer);
                break;
        }
    }

    private void onStatus(final Session session)
    {
        final RaftMetrics m = raft.metrics();
        final KvDigest d = stateMachine.digest();
        final UnsafeBuffer value = new UnsafeBuffer(new byte[KvProtocol.STATUS_LONGS * 8]);
        final long[] fields = {nodeId, m.role().ordinal(), m.term(), m.leaderId(), m.committedIndex(), d.appliedIndex(),
            d.appliedCount(), d.chainHash(), d.size(), d.contentHash()};
        for (int i = 0; i < fields.length; i++)
        {
            value.putLong(i * 8, fields[i]);
        }
        respond(session, request.requestId, KvProtocol.OK, d.appliedIndex(), m.leaderId(), value, 0, value.capacity(), null);
    }

    private void onGet(final Session session, final DirectBuffer buffer)
    {
        final String key = buffer.getStringWithoutLengthUtf8(request.keyOffset, request.keyLength);
        final long requestId = request.requestId;
        if ((request.flags & KvProtocol.FLAG_LINEARIZABLE) == 0)
        {
            final long applied = stateMachine.digest().appliedIndex();
            final byte[] value = stateMachine.get(key);
            respondValue(session, requestId, applied, value);
            return;
        }
        final long sessionId = session.id;
        final CompletableFuture<Long> barrier = raft.ensureLinearizable();
        barrier.whenComplete((readIndex, failure) ->
        {
            if (failure == null)
            {
                enqueueRead(sessionId, requestId, KvProtocol.OK, readIndex, Vote.NO_NODE, stateMachine.get(key));
                return;
            }
            final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
            if (cause instanceof RaftException)
            {
                final RaftException ex = (RaftException)cause;
                if (ex.status() == WriteStatus.SHUT_DOWN)
                {
                    enqueueRead(sessionId, requestId, KvProtocol.ABORTED, 0, Vote.NO_NODE, null);
                }
                else if (ex.status() == WriteStatus.BACK_PRESSURED)
                {
                    enqueueRead(sessionId, requestId, KvProtocol.BUSY, 0, Vote.NO_NODE, null);
                }
                else
                {
                    enqueueRead(sessionId, requestId, KvProtocol.REDIRECT, 0, ex.leaderId(), null);
                }
            }
            else
            {
                enqueueRead(sessionId, requestId, KvProtocol.NO_LEADER, 0, Vote.NO_NODE, null);
            }
        });
    }

    private void onWrite(final Session session, final DirectBuffer buffer)
    {
        if (freeSlots.isEmpty())
        {
            respond(session, request.requestId, KvProtocol.BUSY, 0, Vote.NO_NODE, null, 0, -1, "too many writes pending");
            return;
        }
        final int length = KvProtocol.encodeCommand(commandBuffer, request.op, session.id, request.requestId, buffer,
            request.keyOffset, request.keyLength, request.valueOffset, request.valueLength, request.expectedOffset, request.expectedLength);
        final int slot = freeSlots.pollInt();
        pendingSession[slot] = session.id;
        pendingRequest[slot] = request.requestId;
        final int accepted = raft.clientWrite(commandBuffer, 0, length, slot, writeHandler);
        if (accepted != WriteStatus.OK)
        {
            freeSlots.addInt(slot);
            final int status = accepted == WriteStatus.PAYLOAD_TOO_LARGE ? KvProtocol.BAD_REQUEST :
                accepted == WriteStatus.BACK_PRESSURED ? KvProtocol.BUSY : KvProtocol.ABORTED;
            respond(session, request.requestId, status, 0, Vote.NO_NODE, null, 0, -1,
                accepted == WriteStatus.PAYLOAD_TOO_LARGE ? "payload too large" : WriteStatus.name(accepted));
        }
    }

    /** Called by the node's threads: copies the outcome into the results ring. */
    private void onWriteResult(final long correlationId, final int status, final long index, final long leaderId,
        final DirectBuffer response, final int offset, final int length)
    {
        final int messageLength = 32 + length;
        final int claimed = results.tryClaim(WRITE_RESULT, messageLength);
        if (claimed > 0)
        {
            final AtomicBuffer buffer = results.buffer();
            buffer.putLong(claimed, correlationId);
            buffer.putInt(claimed + 8, status);
            buffer.putLong(claimed + 12, index);
            buffer.putLong(claimed + 20, leaderId);
            buffer.putInt(claimed + 28, length);
            buffer.putBytes(claimed + 32, response, offset, length);
            results.commit(claimed);
        }
        else
        {
            final UnsafeBuffer copy = new UnsafeBuffer(new byte[4 + messageLength]);
            copy.putInt(0, WRITE_RESULT);
            copy.putLong(4, correlationId);
            copy.putInt(12, status);
            copy.putLong(16, index);
            copy.putLong(24, leaderId);
            copy.putInt(32, length);
            copy.putBytes(36, response, offset, length);
            overflow.add(copy.byteArray());
        }
    }

    private void enqueueRead(final long sessionId, final long requestId, final int status, final long index, final long leaderId,
        final byte[] value)
    {
        final int valueLength = value == null ? 0 : value.length;
        final UnsafeBuffer message = new UnsafeBuffer(new byte[4 + 40 + valueLength]);
        message.putInt(0, READ_RESULT);
        message.putLong(4, sessionId);
        message.putLong(12, requestId);
        message.putInt(20, status);
        message.putLong(24, index);
        message.putLong(32, leaderId);
        message.putInt(40, value == null ? -1 : valueLength);
        if (value != null)
        {
            message.putBytes(44, value);
        }
        if (!results.write(READ_RESULT, message, 4, message.capacity() - 4))
        {
            overflow.add(message.byteArray());
        }
    }

    private int drainResults()
    {
        int work = results.read(this::onResult, 256);
        byte[] spilled;
        while ((spilled = overflow.poll()) != null)
        {
            final UnsafeBuffer message = new UnsafeBuffer(spilled);
            onResult(message.getInt(0), message, 4, spilled.length - 4);
            work++;
        }
        return work;
    }

    private void onResult(final int type, final DirectBuffer buffer, final int offset, final int length)
    {
        if (type == WRITE_RESULT)
        {
            final int slot = (int)buffer.getLong(offset);
            final int status = buffer.getInt(offset + 8);
            final long index = buffer.getLong(offset + 12);
            final long leaderId = buffer.getLong(offset + 20);
            final int responseLength = buffer.getInt(offset + 28);
            final long sessionId = pendingSession[slot];
            final long requestId = pendingRequest[slot];
            freeSlots.addInt(slot);
            final Session session = sessions.get(sessionId);
            if (session == null)
            {
                return;
            }
            if (status == WriteStatus.OK && responseLength >= 5)
            {
                final int smStatus = buffer.getByte(offset + 32);
                final int valueLength = buffer.getInt(offset + 33);
                respond(session, requestId, smStatus, index, Vote.NO_NODE, buffer, offset + 37, valueLength, null);
            }
            else
            {
                respondFailure(session, requestId, status, index, leaderId);
            }
        }
        else
        {
            final long sessionId = buffer.getLong(offset);
            final long requestId = buffer.getLong(offset + 8);
            final int status = buffer.getInt(offset + 16);
            final long index = buffer.getLong(offset + 20);
            final long leaderId = buffer.getLong(offset + 28);
            final int valueLength = buffer.getInt(offset + 36);
            final Session session = sessions.get(sessionId);
            if (session == null)
            {
                return;
            }
            if (status == KvProtocol.OK)
            {
                respond(session, requestId, valueLength < 0 ? KvProtocol.NOT_FOUND : KvProtocol.OK, index, Vote.NO_NODE, buffer,
                    offset + 40, valueLength, null);
            }
            else if (status == KvProtocol.REDIRECT)
            {
                redirect(session, requestId, leaderId);
            }
            else
            {
                respond(session, requestId, status, 0, Vote.NO_NODE, null, 0, -1, null);
            }
        }
    }

    private void respondFailure(final Session session, final long requestId, final int status, final long index, final long leaderId)
    {
        switch (status)
        {
            case WriteStatus.NOT_LEADER:
                redirect(session, requestId, leaderId);
                break;
            case WriteStatus.TRANSFERRING:
                respond(session, requestId, KvProtocol.NO_LEADER, 0, Vote.NO_NODE, null, 0, -1, "leadership transfer in progress");
                break;
            case WriteStatus.BACK_PRESSURED:
                respond(session, requestId, KvProtocol.BUSY, 0, Vote.NO_NODE, null, 0, -1, null);
                break;
            case WriteStatus.ABORTED:
                respond(session, requestId, KvProtocol.ABORTED, index, Vote.NO_NODE, null, 0, -1, "replaced by a new leader's log");
                break;
            case WriteStatus.PAYLOAD_TOO_LARGE:
                respond(session, requestId, KvProtocol.BAD_REQUEST, 0, Vote.NO_NODE, null, 0, -1, "payload too large");
                break;
            default:
                respond(session, requestId, KvProtocol.UNKNOWN_OUTCOME, index, Vote.NO_NODE, null, 0, -1, WriteStatus.name(status));
                break;
        }
    }

    private void redirect(final Session session, final long requestId, final long leaderId)
    {
        // The log's membership is authoritative (a member added later is in it alone); the config's list is the fallback.
        final String fromLog = leaderId == Vote.NO_NODE || leaderId == nodeId ? null :
            MemberEndpoints.clientEndpoint(raft.metrics().membership(), leaderId);
        final String endpoint = fromLog != null ? fromLog : leaderId == Vote.NO_NODE || leaderId == nodeId ? null :
            clientEndpoints.get(leaderId);
        if (endpoint == null)
        {
            respond(session, requestId, KvProtocol.NO_LEADER, 0, Vote.NO_NODE, null, 0, -1, null);
        }
        else
        {
            respond(session, requestId, KvProtocol.REDIRECT, 0, leaderId, null, 0, -1, endpoint);
        }
    }

    private void respondValue(final Session session, final long requestId, final long index, final byte[] value)
    {
        if (value == null)
        {
            respond(session, requestId, KvProtocol.NOT_FOUND, index, Vote.NO_NODE, null, 0, -1, null);
        }
        else
        {
            respond(session, requestId, KvProtocol.OK, index, Vote.NO_NODE, new UnsafeBuffer(value), 0, value.length, null);
        }
    }

    private void respond(final Session session, final long requestId, final int status, final long index, final long leaderId,
        final DirectBuffer value, final int valueOffset, final int valueLength, final String text)
    {
        final int length = KvProtocol.encodeResponse(sendBuffer, status, clusterId, session.id, requestId, index, leaderId, value,
            valueOffset, valueLength, text == null ? null : text.getBytes(StandardCharsets.UTF_8));
        session.send(sendBuffer, length);
    }

    private Session session(final DirectBuffer buffer)
    {
        Session session = sessions.get(request.sessionId);
        if (session == null)
        {
            final String endpoint = buffer.getStringWithoutLengthUtf8(request.replyOffset, request.replyLength);
            final ExclusivePublication publication;
            try
            {
                publication = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp").endpoint(endpoint)
                    .termLength(termLength).sparse(true).build(), KvProtocol.STREAM_ID);
            }
            catch (final RuntimeException ex)
            {
                System.err.println("ringraft node " + nodeId + " kv service: cannot reply to " + endpoint + ": " + ex.getMessage());
                return null;
            }
            session = new Session(request.sessionId, publication);
            sessions.put(request.sessionId, session);
        }
        return session;
    }

    /** A client: its reply publication and the answers waiting for it to connect or drain. */
    private static final class Session
    {
        final long id;
        final ExclusivePublication publication;
        final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
        final long createdNs = System.nanoTime();
        long lastActivityNs = createdNs;
        boolean everConnected;

        Session(final long id, final ExclusivePublication publication)
        {
            this.id = id;
            this.publication = publication;
        }

        void send(final DirectBuffer buffer, final int length)
        {
            if (backlog.isEmpty() && offer(buffer, 0, length))
            {
                return;
            }
            final byte[] copy = new byte[length];
            buffer.getBytes(0, copy);
            backlog.addLast(copy);
        }

        int flush()
        {
            int sent = 0;
            while (!backlog.isEmpty())
            {
                final byte[] next = backlog.peekFirst();
                if (!offer(new UnsafeBuffer(next), 0, next.length))
                {
                    break;
                }
                backlog.pollFirst();
                sent++;
            }
            return sent;
        }

        private boolean offer(final DirectBuffer buffer, final int offset, final int length)
        {
            final long result = publication.offer(buffer, offset, length);
            if (result > 0)
            {
                everConnected = true;
                return true;
            }
            return result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED;
        }
    }
}
