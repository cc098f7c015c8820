package io.ringraft.service;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.Raft;
import io.ringraft.RaftException;
import io.ringraft.Vote;
import io.ringraft.WriteHandler;
import io.ringraft.WriteStatus;
import io.ringraft.client.ClientProtocol;
import io.ringraft.engine.Role;
import io.ringraft.transport.aeron.AeronClientWatch;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.ClientAuth;
import io.ringraft.transport.aeron.Offers;
import io.ringraft.transport.aeron.PublicationChannels;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.collections.IntArrayQueue;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.AtomicBuffer;
import org.agrona.concurrent.EpochNanoClock;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The client ingress and egress of a service node: an {@link Agent} that polls client requests
 * from one Aeron subscription, turns them into log entries on the leader (stamped with the
 * leader's clock), redirects them elsewhere, answers queries and status, and sends each answer
 * on the response publication of the request's session.
 * <p>
 * Bounded by construction: open sessions are capped by the host; an OPEN gets a publication only
 * while fewer than {@code maxPendingOpens} are in flight; a session's publication goes only to the
 * channel the session was opened with (replicated with it), never to an address a later frame
 * names; a frame of an unknown session is dropped (it has no channel to answer on); writes and
 * reads in flight are capped (answered {@link ClientProtocol#BUSY} beyond); a session's backlog
 * of unsent responses is capped in bytes (beyond, responses are dropped: the client retries and
 * gets the cached response). Every refusal is counted in {@link IngressCounters}.
 * <p>
 * Authentication ({@link ClientAuth}): every frame passes its gate first, before anything is
 * decoded, answered or created for it; a signed OPEN makes its session its client's (replicated),
 * and a frame for a session reaches it only when signed by the session's owner (unsigned for a
 * session opened unsigned); answers to a signed session or OPEN are signed with its client's key.
 */
final class ClientIngress implements Agent
{
    private static final int WRITE_RESULT = 1;
    private static final int READ_RESULT = 2;
    private static final int RESULT_HEADER = 32;
    private static final long HOUSEKEEPING_NS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final long TICK_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long CREDENTIALS_CHECK_MS = 1000;

    private final ServiceNode.Context ctx;
    private final Raft raft;
    private final ServiceHost host;
    private final long nodeId;
    private final AeronClientWatch clientWatch;
    private final int clusterId;
    private final Map<Long, String> clientEndpoints;
    private final Aeron aeron;
    private final AgentInvoker conductor;
    /** The node's media driver when it has no thread of its own (the composed layout), else null. */
    private final AgentInvoker driverInvoker;
    private final Subscription subscription;
    private final FragmentAssembler assembler;
    private final ClientProtocol.Request request = new ClientProtocol.Request();
    private final ExpandableArrayBuffer entryBuffer;
    private final UnsafeBuffer sendBuffer;
    private final ManyToOneRingBuffer results;
    private final EpochNanoClock clock;
    private final IngressCounters counters;
    private final ClientAuth auth;
    private final WriteHandler writeHandler = this::onWriteResult;
    private final MessageHandler resultHandler = this::onResult;
    private final CountDownLatch closed = new CountDownLatch(1);
    private final boolean driveRaft;

    private final long[] slotSession;
    private final long[] slotCorrelation;
    private final byte[] slotType;
    private final Egress[] slotOpenEgress;
    private final IntArrayQueue freeSlots;

    private final long[] querySession;
    private final long[] queryCorrelation;
    private final ExpandableArrayBuffer[] queryBytes;
    private final int[] queryLength;
    private final IntArrayQueue freeQueries;

    private final Long2ObjectHashMap<Egress> sessionEgress = new Long2ObjectHashMap<>();
    private final List<Egress> openEgress = new ArrayList<>();
    /**
     * The response publications with a backlog: flushed every duty cycle (a response waits for its publication,
     * not for the next housekeeping), each listed once until its backlog is empty.
     */
    private final List<Egress> backlogged = new ArrayList<>();
    private volatile boolean closeRequested;
    private long lastHousekeepingNs;
    private long lastTickNs;
    private long requests;

    ClientIngress(final ServiceNode.Context ctx, final Raft raft, final ServiceHost host, final String aeronDirectory,
        final boolean driveRaft, final AgentInvoker driverInvoker)
    {
        this.driverInvoker = driverInvoker;
        this.ctx = ctx;
        this.raft = raft;
        this.host = host;
        this.nodeId = ctx.nodeId();
        this.clusterId = ctx.clusterId();
        this.clientEndpoints = Map.copyOf(ctx.clientEndpoints());
        this.driveRaft = driveRaft;
        this.clock = ctx.epochClock();
        this.counters = ctx.ingressCounters();
        this.auth = ClientAuth.node("ringraft node " + nodeId + " client ingress", nodeId, ctx.clientCredentials(),
            ctx.requireClientAuth(), System.err::println);
        counters.auth(auth);
        this.entryBuffer = new ExpandableArrayBuffer(ServiceEntry.HEADER + ctx.maxCommandLength());
        this.sendBuffer = new UnsafeBuffer(new byte[AeronTransportConfig.aeronMaxMessageLength(ctx.responseTermLength())]);
        final int maxWrites = ctx.maxPendingWrites();
        slotSession = new long[maxWrites];
        slotCorrelation = new long[maxWrites];
        slotType = new byte[maxWrites];
        slotOpenEgress = new Egress[maxWrites];
        freeSlots = new IntArrayQueue(maxWrites, -1);
        for (int i = 0; i < maxWrites; i++)
        {
            freeSlots.addInt(i);
        }
        final int maxReads = ctx.maxPendingQueries();
        querySession = new long[maxReads];
        queryCorrelation = new long[maxReads];
        queryBytes = new ExpandableArrayBuffer[maxReads];
        queryLength = new int[maxReads];
        freeQueries = new IntArrayQueue(maxReads, -1);
        for (int i = 0; i < maxReads; i++)
        {
            freeQueries.addInt(i);
        }
        this.results = new ManyToOneRingBuffer(new UnsafeBuffer(
            ByteBuffer.allocateDirect(ctx.resultsRingCapacity() + RingBufferDescriptor.TRAILER_LENGTH)));
        this.clientWatch = new AeronClientWatch("ringraft node " + nodeId + " client ingress", System.err::println);
        // A driver without a thread of its own (the composed layout) is run by this client while it waits for it;
        // afterwards by the Raft node's network, in the duty cycle this agent drives.
        this.aeron = Aeron.connect(clientWatch.watch(new Aeron.Context().aeronDirectoryName(aeronDirectory).useConductorAgentInvoker(true)
            .driverAgentInvoker(driverInvoker)));
        this.conductor = aeron.conductorAgentInvoker();
        try
        {
            this.subscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp")
                .endpoint(clientEndpoints.get(nodeId)).build(), ClientProtocol.STREAM_ID);
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
        return "ringraft-ingress-" + nodeId;
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
        // An Aeron client that stopped by itself leaves the node unable to serve its clients: this
        // agent fails, and its owner stops the node (ServiceNode), rather than leave it half-running.
        final Throwable stopped = clientWatch.failure();
        if (stopped != null)
        {
            throw new AgentTerminationException("ringraft node " + nodeId + " client ingress: the Aeron client stopped (" + stopped +
                "); the node can serve no client", stopped);
        }
        int work = conductor.invoke();
        if (driveRaft)
        {
            work += raft.doWork();
        }
        work += results.read(resultHandler, 256);
        work += subscription.poll(assembler, 64);
        if (!backlogged.isEmpty())
        {
            work += flushBacklogged();
        }
        final long now = System.nanoTime();
        if (now - lastHousekeepingNs > HOUSEKEEPING_NS)
        {
            lastHousekeepingNs = now;
            work += housekeeping(now);
        }
        return work;
    }

    /** Asks the agent to close the node and itself; waits until it has. */
    boolean shutdown(final long timeoutMs)
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

    /** @return the ingress's own Aeron client: for tests */
    Aeron aeron()
    {
        return aeron;
    }

    /** Closes everything from the calling thread when the agent no longer runs. */
    void closeFromOwner()
    {
        if (closed.getCount() > 0)
        {
            finish();
        }
    }

    private void finish()
    {
        clientWatch.ownerCloses();
        try
        {
            raft.close();
            results.read(resultHandler, Integer.MAX_VALUE);
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            while (hasBacklog() && System.nanoTime() < deadline)
            {
                if (driverInvoker != null)
                {
                    driverInvoker.invoke(); // the closed node's network no longer runs it
                }
                conductor.invoke();
                flushAll();
                LockSupport.parkNanos(100_000);
            }
        }
        finally
        {
            release();
        }
    }

    /**
     * The agent stopped: after its own {@link #finish()} nothing is left; after a failure (its
     * Aeron client stopped: {@link ServiceNode} has failed the node) its publications and client
     * are released here, and the Raft node is left to its owner's close.
     */
    @Override
    public void onClose()
    {
        if (closed.getCount() > 0)
        {
            clientWatch.ownerCloses();
            release();
        }
    }

    private void release()
    {
        for (final Egress e : sessionEgress.values())
        {
            CloseHelper.quietClose(e.publication);
        }
        for (final Egress e : openEgress)
        {
            CloseHelper.quietClose(e.publication);
        }
        sessionEgress.clear();
        openEgress.clear();
        backlogged.clear();
        counters.publications(0);
        CloseHelper.quietCloseAll(subscription, aeron);
        closed.countDown();
    }

    private boolean hasBacklog()
    {
        for (final Egress e : sessionEgress.values())
        {
            if (!e.backlog.isEmpty() && e.publication.isConnected())
            {
                return true;
            }
        }
        for (final Egress e : openEgress)
        {
            if (!e.backlog.isEmpty() && e.publication.isConnected())
            {
                return true;
            }
        }
        return false;
    }

    private int flushAll()
    {
        int work = 0;
        for (final Egress e : sessionEgress.values())
        {
            work += e.flush();
        }
        for (int i = 0; i < openEgress.size(); i++)
        {
            work += openEgress.get(i).flush();
        }
        return work;
    }

    private int flushBacklogged()
    {
        int work = 0;
        for (int i = backlogged.size() - 1; i >= 0; i--)
        {
            final Egress e = backlogged.get(i);
            work += e.flush();
            if (e.backlog.isEmpty())
            {
                e.listed = false;
                backlogged.remove(i);
            }
        }
        return work;
    }

    private int housekeeping(final long now)
    {
        int work = flushAll();
        final Iterator<Egress> sessions = sessionEgress.values().iterator();
        while (sessions.hasNext())
        {
            final Egress e = sessions.next();
            final boolean sessionGone = host.endpointOf(e.sessionId) == null;
            final boolean neverConnected = !e.everConnected && now - e.createdNs > ctx.connectTimeoutNs();
            final boolean lost = e.everConnected && !e.publication.isConnected() && now - e.lastUsedNs > ctx.connectTimeoutNs();
            if (sessionGone || neverConnected || lost)
            {
                CloseHelper.quietClose(e.publication);
                sessions.remove();
                work++;
            }
        }
        for (int i = openEgress.size() - 1; i >= 0; i--)
        {
            final Egress e = openEgress.get(i);
            if (e.pendingWrites == 0 && (e.backlog.isEmpty() || now - e.createdNs > ctx.connectTimeoutNs()) &&
                now - e.lastUsedNs > ctx.openLingerNs())
            {
                CloseHelper.quietClose(e.publication);
                openEgress.remove(i);
                work++;
            }
        }
        counters.publications(sessionEgress.size() + openEgress.size());
        counters.requests(requests);
        auth.reloadIfChanged(System.currentTimeMillis(), CREDENTIALS_CHECK_MS);
        if (raft.role() == Role.LEADER && host.nextTimerDeadlineNs() <= clock.nanoTime() && now - lastTickNs > TICK_RETRY_NS)
        {
            // A timer is due by this leader's clock: a tick entry carries the time into the log, where it fires.
            lastTickNs = now;
            submitEntry(ServiceEntry.TICK, 0, 0, 0, null, 0, 0, null, ServiceEntry.TICK);
        }
        return work;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int frameLength, final Header header)
    {
        requests++;
        // The gate: nothing of a frame is looked at, answered or created before it passes.
        final int length = auth.admit(buffer, offset, frameLength, ClientProtocol.isSigned(buffer, offset, frameLength));
        if (length < 0)
        {
            return;
        }
        final long client = auth.principal();
        final int keyId = auth.keyId();
        if (length > ctx.maxRequestLength() - ClientAuth.OVERHEAD)
        {
            counters.increment(IngressCounters.OVERSIZED);
            final Egress e = length >= ClientProtocol.REQUEST_HEADER ? ownedEgress(buffer.getLong(offset + 8), client, keyId) : null;
            if (e != null)
            {
                final byte type = (byte)(buffer.getByte(offset + 3) & ~ClientProtocol.FLAG_SIGNED);
                reply(e, type, buffer.getLong(offset + 16), ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0,
                    type == ClientProtocol.COMMAND ? "command of " + (length - ClientProtocol.REQUEST_HEADER) +
                    " bytes exceeds maxCommandLength=" + ctx.maxCommandLength() :
                    "request of " + length + " bytes exceeds maxRequestLength=" + (ctx.maxRequestLength() - ClientAuth.OVERHEAD));
            }
            return;
        }
        final String problem = request.decode(buffer, offset, length);
        if (problem != null)
        {
            counters.increment(IngressCounters.MALFORMED);
            final Egress e = request.type != 0 && request.type != ClientProtocol.OPEN ? ownedEgress(request.sessionId, client, keyId) : null;
            if (e != null)
            {
                reply(e, request.type, request.correlation, ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0, problem);
            }
            return;
        }
        if (request.clusterId != 0 && request.clusterId != clusterId)
        {
            counters.increment(IngressCounters.WRONG_CLUSTER);
            return;
        }
        if (request.type == ClientProtocol.OPEN)
        {
            onOpen(buffer, client);
            return;
        }
        final Egress egress = registeredEgress(request.sessionId);
        if (egress == null)
        {
            counters.increment(IngressCounters.UNKNOWN_SESSION);
            tellClosed(request.sessionId, request.type, request.correlation, client);
            return;
        }
        if (!ownedBy(egress, client, keyId))
        {
            return;
        }
        egress.lastUsedNs = System.nanoTime();
        switch (request.type)
        {
            case ClientProtocol.STATUS:
                onStatus(egress);
                break;
            case ClientProtocol.QUERY:
                onQuery(egress, buffer);
                break;
            case ClientProtocol.COMMAND:
                onWrite(egress, ServiceEntry.COMMAND, buffer, request.bodyOffset, request.bodyLength);
                break;
            case ClientProtocol.KEEPALIVE:
                onWrite(egress, ServiceEntry.KEEPALIVE, buffer, 0, 0);
                break;
            default:
                onWrite(egress, ServiceEntry.CLOSE, buffer, 0, 0);
                break;
        }
    }

    /**
     * @return true if the frame's signer (0: unsigned) owns the session; its answers are then signed
     *         with the key it signed with. Counts a frame for another client's session.
     */
    private boolean ownedBy(final Egress egress, final long client, final int keyId)
    {
        if (egress.stream.clientId() != client)
        {
            counters.increment(IngressCounters.WRONG_CLIENT);
            return false;
        }
        if (client != 0)
        {
            egress.stream.keyId(keyId);
        }
        return true;
    }

    /** @return the session's egress if the session is open and the frame's signer owns it, else null */
    private Egress ownedEgress(final long sessionId, final long client, final int keyId)
    {
        final Egress e = registeredEgress(sessionId);
        return e != null && ownedBy(e, client, keyId) ? e : null;
    }

    private void onOpen(final DirectBuffer buffer, final long client)
    {
        final String endpoint = buffer.getStringWithoutLengthUtf8(request.bodyOffset, request.bodyLength);
        final Egress egress = pendingEgress(endpoint, client, true);
        if (egress == null)
        {
            return;
        }
        egress.lastUsedNs = System.nanoTime();
        if (raft.role() != Role.LEADER)
        {
            redirect(egress, ClientProtocol.OPEN, request.correlation);
            return;
        }
        // The OPEN entry's floor field carries the client that signed it: the session is that client's.
        final int slot = submitEntry(ServiceEntry.OPEN, 0, request.correlation, client, buffer, request.bodyOffset, request.bodyLength,
            egress, ClientProtocol.OPEN);
        if (slot < 0)
        {
            reply(egress, ClientProtocol.OPEN, request.correlation, -slot, 0, 0, Vote.NO_NODE, 0, null);
        }
    }

    private void onWrite(final Egress egress, final byte entryType, final DirectBuffer buffer, final int bodyOffset, final int bodyLength)
    {
        if (raft.role() != Role.LEADER)
        {
            redirect(egress, request.type, request.correlation);
            return;
        }
        if (bodyLength > ctx.maxCommandLength())
        {
            counters.increment(IngressCounters.OVERSIZED);
            reply(egress, request.type, request.correlation, ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0,
                "command of " + bodyLength + " bytes exceeds maxCommandLength=" + ctx.maxCommandLength());
            return;
        }
        final int slot = submitEntry(entryType, request.sessionId, request.correlation, request.floor, buffer, bodyOffset, bodyLength,
            null, request.type);
        if (slot < 0)
        {
            reply(egress, request.type, request.correlation, -slot, 0, 0, Vote.NO_NODE, 0, null);
        }
    }

    /** @return the slot, or minus the client status that refused it at once */
    private int submitEntry(final byte entryType, final long sessionId, final long correlation, final long floor, final DirectBuffer body,
        final int bodyOffset, final int bodyLength, final Egress openEgress, final byte requestType)
    {
        if (freeSlots.isEmpty())
        {
            counters.increment(IngressCounters.BUSY);
            return -ClientProtocol.BUSY;
        }
        ServiceEntry.encodeHeader(entryBuffer, 0, entryType, clock.nanoTime(), sessionId, correlation, floor);
        if (bodyLength > 0)
        {
            entryBuffer.putBytes(ServiceEntry.HEADER, body, bodyOffset, bodyLength);
        }
        final int slot = freeSlots.pollInt();
        slotSession[slot] = sessionId;
        slotCorrelation[slot] = correlation;
        slotType[slot] = requestType;
        slotOpenEgress[slot] = openEgress;
        final int accepted = raft.clientWrite(entryBuffer, 0, ServiceEntry.HEADER + bodyLength, slot, writeHandler);
        if (accepted != WriteStatus.OK)
        {
            freeSlots.addInt(slot);
            slotOpenEgress[slot] = null;
            if (accepted == WriteStatus.BACK_PRESSURED)
            {
                counters.increment(IngressCounters.BUSY);
                return -ClientProtocol.BUSY;
            }
            return accepted == WriteStatus.PAYLOAD_TOO_LARGE ? -ClientProtocol.BAD_REQUEST : -ClientProtocol.NO_LEADER;
        }
        if (openEgress != null)
        {
            openEgress.pendingWrites++;
        }
        return slot;
    }

    private void onStatus(final Egress egress)
    {
        final int payload = ClientProtocol.RESPONSE_HEADER;
        sendBuffer.putLong(payload, nodeId);
        sendBuffer.putLong(payload + 8, raft.term());
        sendBuffer.putLong(payload + 16, raft.commitIndex());
        sendBuffer.putLong(payload + 24, raft.appliedIndex());
        sendBuffer.putLong(payload + 32, host.currentClusterTimeNs());
        final int length = ClientProtocol.STATUS_LONGS * 8;
        ClientProtocol.encodeResponseHeader(sendBuffer, 0, ClientProtocol.STATUS, clusterId, egress.sessionId, request.correlation,
            ClientProtocol.OK, 0, length, raft.appliedIndex(), raft.leaderId(), raft.role().ordinal());
        egress.send(sendBuffer, ClientProtocol.RESPONSE_HEADER + length);
    }

    private void onQuery(final Egress egress, final DirectBuffer buffer)
    {
        if (request.queryMode == ClientProtocol.QUERY_LOCAL)
        {
            if (raft.localReadStatus() != WriteStatus.OK)
            {
                // A restarted node behind the commit index it had seen (or a failed one) would answer from a state older than it served.
                reply(egress, ClientProtocol.QUERY, request.correlation, ClientProtocol.NOT_READY, 0, 0, Vote.NO_NODE, 0,
                    "node " + nodeId + " has applied " + raft.appliedIndex() + " of the " + raft.readyIndex() + " it had seen committed");
                return;
            }
            answerQuery(egress, request.correlation, raft.appliedIndex(), buffer, request.bodyOffset, request.bodyLength);
            return;
        }
        if (raft.role() != Role.LEADER)
        {
            redirect(egress, ClientProtocol.QUERY, request.correlation);
            return;
        }
        if (freeQueries.isEmpty())
        {
            counters.increment(IngressCounters.BUSY);
            reply(egress, ClientProtocol.QUERY, request.correlation, ClientProtocol.BUSY, 0, 0, Vote.NO_NODE, 0, null);
            return;
        }
        final int slot = freeQueries.pollInt();
        querySession[slot] = egress.sessionId;
        queryCorrelation[slot] = request.correlation;
        if (queryBytes[slot] == null)
        {
            queryBytes[slot] = new ExpandableArrayBuffer(Math.max(64, request.bodyLength));
        }
        queryBytes[slot].putBytes(0, buffer, request.bodyOffset, request.bodyLength);
        queryLength[slot] = request.bodyLength;
        // ReadIndex: the future completes once this node has applied every write committed before now.
        raft.ensureLinearizable().whenComplete((readIndex, failure) ->
        {
            int status = ClientProtocol.OK;
            long leader = Vote.NO_NODE;
            if (failure != null)
            {
                final Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                if (cause instanceof RaftException)
                {
                    final RaftException ex = (RaftException)cause;
                    status = ex.status() == WriteStatus.BACK_PRESSURED ? ClientProtocol.BUSY :
                        ex.status() == WriteStatus.SHUT_DOWN ? ClientProtocol.NO_LEADER : ClientProtocol.REDIRECT;
                    leader = ex.leaderId();
                }
                else
                {
                    status = ClientProtocol.NO_LEADER;
                }
            }
            enqueueReadResult(slot, status, readIndex == null ? 0 : readIndex, leader);
        });
    }

    private void answerQuery(final Egress egress, final long correlation, final long index, final DirectBuffer query, final int offset,
        final int length)
    {
        final int limit = sendBuffer.capacity() - ClientProtocol.RESPONSE_HEADER - ClientAuth.OVERHEAD;
        final int written;
        try
        {
            written = host.query(query, offset, length, sendBuffer, ClientProtocol.RESPONSE_HEADER);
        }
        catch (final RuntimeException ex)
        {
            // A query the service cannot answer (e.g. one that does not decode) is the client's problem, not the node's.
            counters.increment(IngressCounters.MALFORMED);
            reply(egress, ClientProtocol.QUERY, correlation, ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0,
                "query failed: " + ex.getClass().getSimpleName());
            return;
        }
        if (written < 0 || written > limit)
        {
            reply(egress, ClientProtocol.QUERY, correlation, ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0,
                "query response of " + written + " bytes exceeds " + limit);
            return;
        }
        ClientProtocol.encodeResponseHeader(sendBuffer, 0, ClientProtocol.QUERY, clusterId, egress.sessionId, correlation,
            ClientProtocol.OK, 0, written, index, Vote.NO_NODE, 0);
        egress.send(sendBuffer, ClientProtocol.RESPONSE_HEADER + written);
    }

    /** Called by the node's threads: copies a write's outcome into the results ring. */
    private void onWriteResult(final long correlationId, final int status, final long index, final long leaderId,
        final DirectBuffer response, final int offset, final int length)
    {
        final int claimed = results.tryClaim(WRITE_RESULT, RESULT_HEADER + length);
        if (claimed < 0)
        {
            // Cannot happen by construction (the ring holds every write in flight at its longest response);
            // the slot is lost and the client retries.
            counters.increment(IngressCounters.BACKLOG_DROPPED);
            return;
        }
        final AtomicBuffer buffer = results.buffer();
        buffer.putLong(claimed, correlationId);
        buffer.putInt(claimed + 8, status);
        buffer.putLong(claimed + 12, index);
        buffer.putLong(claimed + 20, leaderId);
        buffer.putInt(claimed + 28, length);
        buffer.putBytes(claimed + RESULT_HEADER, response, offset, length);
        results.commit(claimed);
    }

    private void enqueueReadResult(final int slot, final int status, final long index, final long leaderId)
    {
        final int claimed = results.tryClaim(READ_RESULT, RESULT_HEADER);
        if (claimed < 0)
        {
            counters.increment(IngressCounters.BACKLOG_DROPPED);
            return;
        }
        final AtomicBuffer buffer = results.buffer();
        buffer.putLong(claimed, slot);
        buffer.putInt(claimed + 8, status);
        buffer.putLong(claimed + 12, index);
        buffer.putLong(claimed + 20, leaderId);
        buffer.putInt(claimed + 28, 0);
        results.commit(claimed);
    }

    private void onResult(final int type, final DirectBuffer buffer, final int offset, final int length)
    {
        final int slot = (int)buffer.getLong(offset);
        final int status = buffer.getInt(offset + 8);
        final long index = buffer.getLong(offset + 12);
        final long leaderId = buffer.getLong(offset + 20);
        if (type == READ_RESULT)
        {
            freeQueries.addInt(slot);
            final Egress egress = registeredEgress(querySession[slot]);
            if (egress == null)
            {
                return;
            }
            if (status == ClientProtocol.OK)
            {
                answerQuery(egress, queryCorrelation[slot], index, queryBytes[slot], 0, queryLength[slot]);
            }
            else if (status == ClientProtocol.REDIRECT)
            {
                redirectTo(egress, ClientProtocol.QUERY, queryCorrelation[slot], leaderId);
            }
            else
            {
                reply(egress, ClientProtocol.QUERY, queryCorrelation[slot], status, 0, 0, Vote.NO_NODE, 0, null);
            }
            return;
        }
        final int responseLength = buffer.getInt(offset + 28);
        final long sessionId = slotSession[slot];
        final long correlation = slotCorrelation[slot];
        final byte requestType = slotType[slot];
        final Egress opening = slotOpenEgress[slot];
        slotOpenEgress[slot] = null;
        freeSlots.addInt(slot);
        if (opening != null)
        {
            opening.pendingWrites--;
        }
        final Egress egress = opening != null ? opening : registeredEgress(sessionId);
        if (egress == null)
        {
            return;
        }
        if (status != WriteStatus.OK)
        {
            replyFailure(egress, requestType, correlation, status, index, leaderId);
            return;
        }
        final int hostStatus = buffer.getByte(offset + RESULT_HEADER) & 0xFF;
        final int flags = buffer.getByte(offset + RESULT_HEADER + 1) & 0xFF;
        final long value = buffer.getLong(offset + RESULT_HEADER + 8);
        if (requestType == ClientProtocol.OPEN)
        {
            if (hostStatus == ClientProtocol.SESSION_LIMIT)
            {
                counters.increment(IngressCounters.SESSION_LIMIT);
            }
            reply(opening, ClientProtocol.OPEN, correlation, hostStatus, flags, index, Vote.NO_NODE, value, null);
            return;
        }
        if (requestType == ClientProtocol.KEEPALIVE && hostStatus == ClientProtocol.OK)
        {
            return;
        }
        final int payloadOffset = offset + RESULT_HEADER + ServiceEntry.RESPONSE_HEADER;
        final int payloadLength = Math.max(0, responseLength - ServiceEntry.RESPONSE_HEADER);
        ClientProtocol.encodeResponseHeader(sendBuffer, 0, requestType, clusterId, sessionId, correlation, hostStatus, flags,
            payloadLength, index, Vote.NO_NODE, value);
        sendBuffer.putBytes(ClientProtocol.RESPONSE_HEADER, buffer, payloadOffset, payloadLength);
        egress.send(sendBuffer, ClientProtocol.RESPONSE_HEADER + payloadLength);
    }

    private void replyFailure(final Egress egress, final byte requestType, final long correlation, final int status, final long index,
        final long leaderId)
    {
        switch (status)
        {
            case WriteStatus.NOT_LEADER:
                redirectTo(egress, requestType, correlation, leaderId);
                break;
            case WriteStatus.TRANSFERRING:
                reply(egress, requestType, correlation, ClientProtocol.NO_LEADER, 0, 0, Vote.NO_NODE, 0, "leadership transfer in progress");
                break;
            case WriteStatus.BACK_PRESSURED:
                reply(egress, requestType, correlation, ClientProtocol.BUSY, 0, 0, Vote.NO_NODE, 0, null);
                break;
            case WriteStatus.ABORTED:
                reply(egress, requestType, correlation, ClientProtocol.ABORTED, 0, index, Vote.NO_NODE, 0, null);
                break;
            case WriteStatus.PAYLOAD_TOO_LARGE:
                reply(egress, requestType, correlation, ClientProtocol.BAD_REQUEST, 0, 0, Vote.NO_NODE, 0, "payload too large");
                break;
            default:
                reply(egress, requestType, correlation, ClientProtocol.UNKNOWN_OUTCOME, 0, index, Vote.NO_NODE, 0, WriteStatus.name(status));
                break;
        }
    }

    private void redirect(final Egress egress, final byte requestType, final long correlation)
    {
        redirectTo(egress, requestType, correlation, raft.leaderId());
    }

    private void redirectTo(final Egress egress, final byte requestType, final long correlation, final long leaderId)
    {
        counters.increment(IngressCounters.REDIRECTED);
        String endpoint = null;
        if (leaderId != Vote.NO_NODE && leaderId != nodeId)
        {
            // The log's membership is authoritative (a member added later is in it alone); the configured list is the fallback.
            endpoint = ctx.clientEndpointLookup() != null ? ctx.clientEndpointLookup().apply(raft, leaderId) : null;
            endpoint = endpoint != null ? endpoint : clientEndpoints.get(leaderId);
        }
        if (endpoint == null)
        {
            reply(egress, requestType, correlation, ClientProtocol.NO_LEADER, 0, 0, Vote.NO_NODE, 0, null);
        }
        else
        {
            reply(egress, requestType, correlation, ClientProtocol.REDIRECT, 0, 0, leaderId, 0, endpoint);
        }
    }

    private void reply(final Egress egress, final byte requestType, final long correlation, final int status, final int flags,
        final long index, final long leaderId, final long value, final String text)
    {
        int length = 0;
        if (text != null)
        {
            length = sendBuffer.putStringWithoutLengthUtf8(ClientProtocol.RESPONSE_HEADER, text.length() > 512 ? text.substring(0, 512) : text);
        }
        ClientProtocol.encodeResponseHeader(sendBuffer, 0, requestType, clusterId, egress.sessionId, correlation, status, flags, length,
            index, leaderId, value);
        egress.send(sendBuffer, ClientProtocol.RESPONSE_HEADER + length);
    }

    /** @return the session's egress if the session is open (creating its publication), else null */
    private Egress registeredEgress(final long sessionId)
    {
        Egress egress = sessionEgress.get(sessionId);
        if (egress != null)
        {
            return egress;
        }
        final String endpoint = sessionId == 0 ? null : host.endpointOf(sessionId);
        if (endpoint == null)
        {
            return null;
        }
        final long owner = host.ownerOf(sessionId);
        // A session opened here: take over the publication its OPEN was answered on.
        for (int i = 0; i < openEgress.size(); i++)
        {
            final Egress e = openEgress.get(i);
            if (e.endpoint.equals(endpoint) && e.stream.clientId() == owner && e.pendingWrites == 0)
            {
                openEgress.remove(i);
                e.sessionId = sessionId;
                sessionEgress.put(sessionId, e);
                return e;
            }
        }
        egress = newEgress(sessionId, endpoint, owner);
        if (egress != null)
        {
            sessionEgress.put(sessionId, egress);
        }
        return egress;
    }

    /** A session that closed lately (expired, say) is told so on its channel, once per frame, within the open cap. */
    private void tellClosed(final long sessionId, final byte requestType, final long correlation, final long client)
    {
        final String endpoint = sessionId == 0 ? null : host.closedEndpointOf(sessionId);
        if (endpoint == null)
        {
            return;
        }
        final Egress egress = pendingEgress(endpoint, client, false);
        if (egress == null)
        {
            return;
        }
        final long previous = egress.sessionId;
        egress.sessionId = sessionId;
        reply(egress, requestType, correlation, ClientProtocol.UNKNOWN_SESSION, 0, 0, Vote.NO_NODE, 0, "session " + sessionId + " is closed");
        egress.sessionId = previous;
    }

    /**
     * The channel to a client that has no session yet: the one already open to {@code endpoint}, or a new
     * one within the cap on pending opens.
     *
     * @return the channel, or null when the cap is reached or the endpoint is unusable (counted if asked)
     */
    private Egress pendingEgress(final String endpoint, final long client, final boolean countRefusals)
    {
        for (final Egress e : openEgress)
        {
            if (e.endpoint.equals(endpoint) && e.stream.clientId() == client)
            {
                return e;
            }
        }
        if (openEgress.size() >= ctx.maxPendingOpens())
        {
            if (countRefusals)
            {
                counters.increment(IngressCounters.OPEN_REFUSED);
            }
            return null;
        }
        final Egress egress = newEgress(0, endpoint, client);
        if (egress == null)
        {
            if (countRefusals)
            {
                counters.increment(IngressCounters.MALFORMED);
            }
            return null;
        }
        openEgress.add(egress);
        return egress;
    }

    /** A new response publication to {@code endpoint}, answering {@code client} (0: unsigned answers). */
    private Egress newEgress(final long sessionId, final String endpoint, final long client)
    {
        try
        {
            final ExclusivePublication publication = aeron.addExclusivePublication(
                PublicationChannels.udp(endpoint, ctx.responseTermLength(), ctx.mtu()), ClientProtocol.STREAM_ID);
            return new Egress(sessionId, endpoint, publication, ctx.maxBacklogBytes(), counters, auth, auth.newStream(client), backlogged);
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    /** A response publication with its bounded backlog of responses waiting to be sent, and its signing state. */
    private static final class Egress
    {
        final String endpoint;
        final ExclusivePublication publication;
        final ClientAuth auth;
        final ClientAuth.ReplyStream stream;
        final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
        final int maxBacklogBytes;
        final IngressCounters counters;
        final long createdNs = System.nanoTime();
        long sessionId;
        long lastUsedNs = createdNs;
        int backlogBytes;
        int pendingWrites;
        boolean everConnected;
        /** In the ingress's list of egresses with a backlog. */
        boolean listed;
        private final List<Egress> backlogged;

        Egress(final long sessionId, final String endpoint, final ExclusivePublication publication, final int maxBacklogBytes,
            final IngressCounters counters, final ClientAuth auth, final ClientAuth.ReplyStream stream, final List<Egress> backlogged)
        {
            this.backlogged = backlogged;
            this.auth = auth;
            this.stream = stream;
            this.sessionId = sessionId;
            this.endpoint = endpoint;
            this.publication = publication;
            this.maxBacklogBytes = maxBacklogBytes;
            this.counters = counters;
        }

        /** Sends (or queues) the answer at the start of {@code buffer}, signed if its client signs; the buffer has room for a signature. */
        void send(final MutableDirectBuffer buffer, final int contentLength)
        {
            lastUsedNs = System.nanoTime();
            int length = contentLength;
            if (stream.clientId() != 0)
            {
                ClientProtocol.markSigned(buffer, 0);
                final int signature = auth.sign(buffer, 0, contentLength, stream);
                if (signature < 0)
                {
                    counters.increment(IngressCounters.KEY_WITHDRAWN);
                    return;
                }
                length += signature;
            }
            if (backlog.isEmpty() && offer(buffer, length))
            {
                return;
            }
            if (backlogBytes + length > maxBacklogBytes)
            {
                counters.increment(IngressCounters.BACKLOG_DROPPED);
                return;
            }
            final byte[] copy = new byte[length];
            buffer.getBytes(0, copy);
            backlog.addLast(copy);
            backlogBytes += length;
            if (!listed)
            {
                listed = true;
                backlogged.add(this);
            }
        }

        int flush()
        {
            int sent = 0;
            while (!backlog.isEmpty())
            {
                final byte[] next = backlog.peekFirst();
                if (!offer(new UnsafeBuffer(next), next.length))
                {
                    break;
                }
                backlog.pollFirst();
                backlogBytes -= next.length;
                sent++;
            }
            return sent;
        }

        private boolean offer(final DirectBuffer buffer, final int length)
        {
            final long result = Offers.offer(publication, buffer, 0, length);
            if (result > 0)
            {
                everConnected = true;
                return true;
            }
            return result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED;
        }
    }
}
