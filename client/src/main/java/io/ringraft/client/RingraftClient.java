package io.ringraft.client;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.AdminStatus;
import io.ringraft.YieldThenParkIdleStrategy;
import io.ringraft.YieldThenWaitIdleStrategy;
import io.ringraft.engine.Role;
import io.ringraft.transport.aeron.AeronTransportConfig;
import io.ringraft.transport.aeron.ClientAuth;
import io.ringraft.transport.aeron.Offers;
import io.ringraft.transport.aeron.PublicationChannels;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import io.ringraft.transport.aeron.KeyRing;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A client of a ringraft service cluster over Aeron UDP: one session, opened through the log,
 * in which every command carries a sequence; the cluster applies each (session, sequence) at most
 * once and answers a resend from its cache, so the client resends freely — after a redirect, a
 * lost leader, back-pressure or silence — and nothing is applied twice.
 * <pre>{@code
 * try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context()
 *         .endpoints(List.of("10.0.0.1:9101", "10.0.0.2:9101", "10.0.0.3:9101"))))
 * {
 *     CommandResult r = client.execute("increment".getBytes());       // blocks, polling
 *     QueryResult q = client.queryAndWait(new byte[0], ReadMode.LINEARIZABLE);
 * }
 * }</pre>
 * Single-threaded: the thread that offers also calls {@link #poll()}, which sends, receives,
 * follows the leader, resends and times out; outcomes reach the {@link ResponseHandler} (or the
 * futures) from inside {@link #poll()}, exactly once per command. {@link #poll()} also runs the
 * Aeron client's duty cycle (no thread of its own): poll at least every few seconds, or the media
 * driver drops the client (after its client liveness timeout, 10 s by default). Up to {@link Context#window}
 * commands are in flight; {@link #offer} copies the command and allocates nothing.
 * <p>
 * <b>Administration.</b> The same client changes and shows the membership of a running cluster
 * through any member, redirected to the leader ({@linkplain AdminProtocol the admin protocol},
 * answered by each node's admin service): {@link #addLearner}, {@link #promote},
 * {@link #changeVoters}, {@link #remove}, {@link #transferLeadership}, {@link #snapshot},
 * {@link #clusterStatus} and {@link #memberStatus}. Each blocks, polling this client, until its
 * typed {@link AdminOutcome} (never an exception for a refusal or a timeout). A client that only
 * administers needs no session: {@link Context#session(boolean) session(false)}.
 * <pre>{@code
 * try (RingraftClient admin = RingraftClient.connect(new RingraftClient.Context()
 *         .endpoints(List.of("10.0.0.1:9101", "10.0.0.2:9101")).session(false)))
 * {
 *     AdminOutcome added = admin.addLearner(4, "10.0.0.4:9001", "10.0.0.4:9101", Duration.ofSeconds(30));
 *     AdminOutcome promoted = admin.promote(4, true, Duration.ofMinutes(2));    // waits for it to catch up
 *     if (!promoted.isOk()) { System.err.println(promoted); }                  // e.g. NOT_CAUGHT_UP: node 4 holds ...
 *     admin.remove(1, Duration.ofSeconds(30));                                 // node 1 leads? it hands over first
 * }
 * }</pre>
 * <p>
 * With credentials ({@link Context#credentials}: the client's id and its key file) every request
 * is signed with the client's key and every answer must be signed by a node with it: an answer
 * that is not (forged, altered, replayed, unsigned) is dropped and counted
 * ({@link #refusedResponses()}), as if it had been lost.
 */
public final class RingraftClient implements AutoCloseable
{
    /** {@link #offer} result: the window is full; poll and offer again. */
    public static final long BACK_PRESSURED = -1;
    /** {@link #offer} result: the command is longer than {@link Context#maxCommandLength}. */
    public static final long TOO_LARGE = -2;
    /** {@link #offer} result: the session is closed (expired or the client closed). */
    public static final long CLOSED = -3;

    /** How much longer than the operation may take the leader's answer is awaited. */
    private static final long ADMIN_ANSWER_GRACE_MS = 2_000;
    /** Wait before asking again while no leader is known. */
    private static final long ADMIN_RETRY_NS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final int FREE = 0;
    private static final int TO_SEND = 1;
    private static final int SENT = 2;

    private final Context ctx;
    private final EmbeddedMediaDriver driver;
    private final Aeron aeron;
    private final AgentInvoker conductor;
    private final AgentInvoker driverInvoker;
    private final Subscription subscription;
    private final FragmentAssembler assembler;
    private final ClientProtocol.Response response = new ClientProtocol.Response();
    private final ClientAuth auth;
    private final UnsafeBuffer sendBuffer;
    private final String replyEndpoint;
    private final List<Target> targets = new ArrayList<>();
    private final int window;
    private final long[] slotSeq;
    private final int[] slotState;
    private final long[] slotDeadlineNs;
    private final long[] slotNotBeforeNs;
    private final long[] slotSentNs;
    private final ExpandableArrayBuffer[] slotBytes;
    private final int[] slotLength;
    @SuppressWarnings("unchecked")
    private final CompletableFuture<CommandResult>[] slotFuture;
    private final Long2ObjectHashMap<PendingRequest> requests = new Long2ObjectHashMap<>();
    private final String replyHost;
    private final Map<String, ExclusivePublication> adminPublications = new HashMap<>();
    private final FragmentAssembler adminAssembler = new FragmentAssembler(this::onAdminFragment);
    private Subscription adminSubscription;
    private String adminReplyEndpoint;
    private long adminCorrelation = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2);
    private long adminAwaited;
    private AdminProtocol.Response adminReceived;
    private ResponseHandler handler;
    private Target target;
    private long sessionId;
    private long nextSeq = 1;
    private long lowestUnresolved = 1;
    // No command below this (and at or above lowestUnresolved) is waiting to be sent: where sendDue starts, so that
    // sending costs what is to be sent, not the whole window (enqueue sends at once, once per command).
    private long sendFrom = 1;
    private long nextRequestId = 1;
    // The last send that keeps the session alive in the log (open, command, keepalive): queries and
    // status requests do not, so a client that only reads still sends keepalives.
    private long lastSendNs;
    private long lastNoLeaderMoveNs = Long.MIN_VALUE / 2;
    private long lastScanNs;
    private boolean sessionClosed;
    private boolean closed;
    private long unexpectedlySigned;

    private RingraftClient(final Context ctx)
    {
        this.ctx = ctx;
        this.window = ctx.window;
        this.handler = ctx.handler;
        slotSeq = new long[window];
        slotState = new int[window];
        slotDeadlineNs = new long[window];
        slotNotBeforeNs = new long[window];
        slotSentNs = new long[window];
        slotBytes = new ExpandableArrayBuffer[window];
        slotLength = new int[window];
        @SuppressWarnings("unchecked")
        final CompletableFuture<CommandResult>[] futures = new CompletableFuture[window];
        slotFuture = futures;
        sendBuffer = new UnsafeBuffer(new byte[ClientProtocol.REQUEST_HEADER + ctx.maxCommandLength + ClientAuth.OVERHEAD + 8]);
        auth = ctx.keyRing == null ? null : ClientAuth.client("ringraft client " + ctx.clientId, ctx.clientId, ctx.keyRing,
            System.err::println);
        final InetSocketAddress first = parse(ctx.endpoints.get(0));
        this.replyHost = replyHostFor(first);
        EmbeddedMediaDriver launched = null;
        Aeron client = null;
        try
        {
            launched = ctx.aeronDirectory == null ? EmbeddedMediaDriver.launch(0, ctx.termLength, ctx.invokedDriver) : null;
            final Aeron.Context aeronCtx = new Aeron.Context()
                .aeronDirectoryName(launched != null ? launched.aeronDirectoryName() : ctx.aeronDirectory)
                .useConductorAgentInvoker(ctx.session)
                .errorHandler(ex -> System.err.println("ringraft client: " + ex));
            if (ctx.invokedDriver)
            {
                // The conductor runs the driver while it waits for it (adding a publication), poll() the rest of the time.
                aeronCtx.driverAgentInvoker(launched.invoker());
            }
            client = Aeron.connect(aeronCtx);
            // With a session, poll() runs the Aeron client's conductor (no thread); an admin client has its own
            // conductor thread, which keeps it alive with the media driver while the caller is idle between operations.
            this.conductor = ctx.session ? client.conductorAgentInvoker() : null;
            this.subscription = client.addSubscription(
                new ChannelUriStringBuilder().media("udp").endpoint(replyHost + ":0").build(), ClientProtocol.STREAM_ID);
            this.replyEndpoint = resolvedEndpoint(subscription);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(client, launched);
            throw ex;
        }
        this.driver = launched;
        this.driverInvoker = ctx.invokedDriver ? launched.invoker() : null;
        this.aeron = client;
        this.assembler = new FragmentAssembler(this::onFragment);
        for (final String endpoint : ctx.endpoints)
        {
            target(endpoint);
        }
        target = targets.get(0);
    }

    /** Waits for an ephemeral subscription's port, within the connect timeout. */
    private String resolvedEndpoint(final Subscription s)
    {
        String resolved = s.resolvedEndpoint();
        final long deadline = System.nanoTime() + ctx.connectTimeoutNs;
        while (resolved == null && System.nanoTime() < deadline)
        {
            invokeConductor();
            LockSupport.parkNanos(100_000);
            resolved = s.resolvedEndpoint();
        }
        if (resolved == null)
        {
            throw new ClientException(-1, "the response subscription on " + replyHost + " (stream " + s.streamId() + ") got no port");
        }
        return resolved;
    }

    /**
     * Connects: launches an embedded media driver unless one is configured, then opens a session
     * with the leader (following redirects, waiting out elections) within the connect timeout
     * (unless {@link Context#session(boolean) session(false)}: then it returns at once, for
     * admin operations only).
     *
     * @param ctx the settings
     * @return the connected client
     * @throws ClientException if no leader opened a session in time, or the cluster holds as many
     *                         sessions as it may
     * @throws IllegalArgumentException naming a bad setting
     */
    public static RingraftClient connect(final Context ctx)
    {
        ctx.conclude();
        final RingraftClient client = new RingraftClient(ctx);
        try
        {
            if (ctx.session)
            {
                client.open();
            }
            else
            {
                client.sessionClosed = true;
            }
            return client;
        }
        catch (final RuntimeException ex)
        {
            client.closeResources();
            throw ex;
        }
    }

    private void open()
    {
        final long nonce = ThreadLocalRandom.current().nextLong() | 1L;
        final long deadline = System.nanoTime() + ctx.connectTimeoutNs;
        final PendingRequest open = new PendingRequest(ClientProtocol.OPEN, nonce, null, null, deadline);
        requests.put(nonce, open);
        final byte[] endpoint = replyEndpoint.getBytes(StandardCharsets.UTF_8);
        final ExpandableArrayBuffer body = new ExpandableArrayBuffer(2 + endpoint.length);
        body.putShort(0, (short)endpoint.length);
        body.putBytes(2, endpoint);
        open.body = body;
        open.bodyLength = 2 + endpoint.length;
        String lastProblem = "no answer";
        while (sessionId == 0)
        {
            final long now = System.nanoTime();
            if (now - deadline >= 0)
            {
                requests.remove(nonce);
                final boolean reached = targets.stream().anyMatch(t -> t.everConnected);
                throw new ClientException(ClientProtocol.NO_LEADER, (reached ? "no leader opened a session" : "no member is reachable") +
                    " within " + TimeUnit.NANOSECONDS.toMillis(ctx.connectTimeoutNs) + " ms (" + (reached ? lastProblem + "; " : "") +
                    "members " + ctx.endpoints + ")");
            }
            if (open.answered)
            {
                open.answered = false;
                if (open.status == ClientProtocol.OK)
                {
                    sessionId = open.value;
                    requests.remove(nonce);
                    break;
                }
                if (open.status == ClientProtocol.SESSION_LIMIT || open.status == ClientProtocol.BAD_REQUEST)
                {
                    requests.remove(nonce);
                    throw new ClientException(open.status, "the cluster refused the session: " + ClientProtocol.statusName(open.status) +
                        (open.message.isEmpty() ? "" : " (" + open.message + ")"));
                }
                lastProblem = ClientProtocol.statusName(open.status) + " from " + target.endpoint;
                open.notBeforeNs = now + ctx.retryDelayNs;
                open.sent = false; // sent again after the retry delay
                if (open.status == ClientProtocol.NO_LEADER)
                {
                    onNoLeader(now);
                }
            }
            final ExclusivePublication publication = target.publication();
            if (open.sent && now - open.sentNs > ctx.resendIntervalNs)
            {
                lastProblem = "no answer from " + target.endpoint;
                rotate(now);
                open.sent = false;
            }
            else if ((publication == null || !publication.isConnected()) && now - target.since > ctx.resendIntervalNs)
            {
                // Not reachable (yet): try the next member; the client comes back to this one in turn.
                lastProblem = target.endpoint + " did not connect";
                rotate(now);
            }
            if (!open.sent && now - open.notBeforeNs >= 0)
            {
                sendRequest(open, now);
            }
            if (pollNetwork() == 0)
            {
                LockSupport.parkNanos(100_000);
            }
        }
        lastSendNs = System.nanoTime();
    }

    /** @return true if the embedded driver runs inside {@link #poll()} ({@link Context#invokedDriver(boolean)}) */
    public boolean invokedDriver()
    {
        return driverInvoker != null;
    }

    /**
     * An idle strategy for the loop that calls {@link #poll()}: with {@link Context#invokedDriver(boolean)
     * invokedDriver(true)} one that sleeps on the embedded driver's sockets when idle
     * ({@link YieldThenWaitIdleStrategy}: a reply wakes it within microseconds, an idle client costs little CPU),
     * else a {@link YieldThenParkIdleStrategy}. Use it only on the thread that calls {@code poll()}.
     *
     * @return a new idle strategy for the polling loop
     */
    public IdleStrategy idleStrategy()
    {
        if (driverInvoker == null)
        {
            return new YieldThenParkIdleStrategy();
        }
        // Everything this client waits for arrives on its driver's sockets; its own thread sends.
        return new YieldThenWaitIdleStrategy().bind(driver.socketWaiter(), () -> false);
    }

    /** @return the session id the cluster gave this client */
    public long sessionId()
    {
        return sessionId;
    }

    /** @return true once the session is closed (expired in the cluster, or {@link #close()}), or if none was opened */
    public boolean isSessionClosed()
    {
        return sessionClosed;
    }

    /** @return the endpoint ("host:port") this client receives answers on */
    public String responseEndpoint()
    {
        return replyEndpoint;
    }

    /** @return the client endpoint commands go to now (the leader once known) */
    public String leaderEndpoint()
    {
        return target.endpoint;
    }

    /** @return commands offered whose outcome has not been reported yet */
    public int inFlight()
    {
        return (int)(nextSeq - lowestUnresolved);
    }

    /** @param handler receives the outcomes of commands offered from now on (replaces the context's) */
    public void responseHandler(final ResponseHandler handler)
    {
        this.handler = handler;
    }

    /**
     * Offers a command without allocating: the bytes are copied into the window; the outcome
     * reaches the {@link ResponseHandler} from a later {@link #poll()}.
     *
     * @param buffer holds the command
     * @param offset where it starts
     * @param length its length
     * @return the command's sequence (positive), or {@link #BACK_PRESSURED}, {@link #TOO_LARGE},
     *         {@link #CLOSED}
     */
    public long offer(final DirectBuffer buffer, final int offset, final int length)
    {
        return enqueue(buffer, offset, length, null);
    }

    /**
     * Submits a command; the future completes (never exceptionally) from a later {@link #poll()}.
     * A full window or a closed session completes it at once ({@link Outcome#REJECTED},
     * {@link Outcome#SESSION_CLOSED}) rather than waiting: poll between submissions.
     *
     * @param command the command bytes (copied)
     * @return its outcome
     */
    public CompletableFuture<CommandResult> submit(final byte[] command)
    {
        final CompletableFuture<CommandResult> future = new CompletableFuture<>();
        final long seq = enqueue(new UnsafeBuffer(command), 0, command.length, future);
        if (seq < 0)
        {
            future.complete(new CommandResult(0, seq == CLOSED ? Outcome.SESSION_CLOSED : Outcome.REJECTED, false, 0, new byte[0]));
        }
        return future;
    }

    /**
     * Submits a command and polls until its outcome (at most the command timeout), waiting for
     * room in the window first.
     *
     * @param command the command bytes
     * @return its outcome
     */
    public CommandResult execute(final byte[] command)
    {
        final long deadline = System.nanoTime() + ctx.commandTimeoutNs;
        while (inFlight() >= window && !sessionClosed && System.nanoTime() < deadline)
        {
            idle(poll());
        }
        return await(submit(command));
    }

    /**
     * Reads the service's state with {@code ClusteredService.onQuery}, not through the log.
     *
     * @param query the query bytes
     * @param mode  linearizable (on the leader, after ReadIndex) or local (this node, may be stale)
     * @return the answer; completes from a later {@link #poll()}
     */
    public CompletableFuture<QueryResult> query(final byte[] query, final ReadMode mode)
    {
        final CompletableFuture<QueryResult> future = new CompletableFuture<>();
        if (sessionId == 0)
        {
            future.complete(new QueryResult(ClientProtocol.UNKNOWN_SESSION, 0, new byte[0], "this client has no session (session(false))"));
            return future;
        }
        final long id = nextRequestId++;
        final ExpandableArrayBuffer body = new ExpandableArrayBuffer(4 + query.length);
        body.putByte(0, mode == ReadMode.LINEARIZABLE ? ClientProtocol.QUERY_LINEARIZABLE : ClientProtocol.QUERY_LOCAL);
        body.putByte(1, (byte)0);
        body.putShort(2, (short)0);
        body.putBytes(4, query);
        final PendingRequest p = new PendingRequest(ClientProtocol.QUERY, id, future, null, System.nanoTime() + ctx.commandTimeoutNs);
        p.body = body;
        p.bodyLength = 4 + query.length;
        p.pinned = mode == ReadMode.LOCAL ? target : null;
        requests.put(id, p);
        sendRequest(p, System.nanoTime());
        return future;
    }

    /**
     * Reads one member's state as it is (a local, possibly stale read at that member, never
     * redirected): e.g. to compare replicas.
     *
     * @param endpoint the member's client endpoint
     * @param query    the query bytes
     * @return the answer; completes from a later {@link #poll()}
     */
    public CompletableFuture<QueryResult> queryMember(final String endpoint, final byte[] query)
    {
        final Target member = target(endpoint);
        final Target current = target;
        target = member;
        try
        {
            return query(query, ReadMode.LOCAL);
        }
        finally
        {
            target = current;
        }
    }

    /** {@link #query} and poll until the answer. */
    public QueryResult queryAndWait(final byte[] query, final ReadMode mode)
    {
        return await(query(query, mode));
    }

    /**
     * Asks one member for its status (answered by that member, never redirected).
     *
     * @param endpoint the member's client endpoint
     * @return its status, or null if it did not answer within the command timeout (or this client has no session:
     *         {@link #memberStatus} needs none)
     */
    public CompletableFuture<NodeStatus> status(final String endpoint)
    {
        final CompletableFuture<NodeStatus> future = new CompletableFuture<>();
        if (sessionId == 0)
        {
            future.complete(null);
            return future;
        }
        final long id = nextRequestId++;
        final PendingRequest p = new PendingRequest(ClientProtocol.STATUS, id, null, future, System.nanoTime() + ctx.commandTimeoutNs);
        p.pinned = target(endpoint);
        requests.put(id, p);
        sendRequest(p, System.nanoTime());
        return future;
    }

    /**
     * Shows the cluster as the first member that answers sees it (tried in the order of
     * {@link Context#endpoints}): its role, term, leader, indexes, the membership in its log and,
     * on the leader, how far each member has caught up ({@link AdminOutcome#view()}).
     *
     * @param timeout how long to try
     * @return {@link AdminStatus#OK} with the view, or {@link AdminProtocol#NO_ANSWER}
     */
    public AdminOutcome clusterStatus(final Duration timeout)
    {
        return adminCall(AdminProtocol.STATUS, 0, 0, "", new long[0], timeout);
    }

    /**
     * Shows one node's view, asked at its client endpoint and never redirected: a member, or a
     * node started to join that waits to be added ({@link MemberStatus#isJoining()}).
     *
     * @param clientEndpoint the node's client endpoint
     * @param timeout        how long to wait for its answer
     * @return {@link AdminStatus#OK} with the view, or {@link AdminProtocol#NO_ANSWER}
     */
    public AdminOutcome memberStatus(final String clientEndpoint, final Duration timeout)
    {
        parse(clientEndpoint);
        final long timeoutMs = millis(timeout);
        final AdminProtocol.Response r = ask(clientEndpoint, AdminProtocol.STATUS, 0, 0, "", new long[0], timeoutMs, timeoutMs);
        return r != null ? AdminOutcome.of(r) : AdminOutcome.refused(AdminProtocol.NO_ANSWER, "no answer from " + clientEndpoint +
            " within " + timeoutMs + " ms");
    }

    /**
     * Adds a learner: a node that receives the log (a snapshot first if the log was compacted)
     * but does not vote. First asks the new node itself, at {@code clientEndpoint}, whether it
     * runs with this id: an unreachable or mistaken endpoint is refused with nothing changed. The
     * leader refuses an id or an endpoint that a member already has.
     *
     * @param node           the new node's id
     * @param raftEndpoint   its Raft (replication) endpoint, host:port
     * @param clientEndpoint its client endpoint, host:port
     * @param timeout        how long it may take
     * @return the outcome; {@link AdminOutcome#index()} is the membership entry's
     * @throws IllegalArgumentException if the id is not positive or an endpoint is not host:port
     */
    public AdminOutcome addLearner(final long node, final String raftEndpoint, final String clientEndpoint, final Duration timeout)
    {
        requireNode(node);
        parse(raftEndpoint);
        parse(clientEndpoint);
        final long timeoutMs = millis(timeout);
        final long probeMs = Math.min(timeoutMs, 5_000);
        final AdminProtocol.Response probe = ask(clientEndpoint, AdminProtocol.STATUS, 0, 0, "", new long[0], probeMs, probeMs);
        if (probe == null)
        {
            return AdminOutcome.refused(AdminStatus.INVALID, "node " + node + " does not answer at " + clientEndpoint + " within " +
                probeMs + " ms (is it running, with --join?); nothing changed");
        }
        if (probe.nodeId() != node)
        {
            return AdminOutcome.refused(AdminStatus.INVALID, "the node at " + clientEndpoint + " is node " + probe.nodeId() +
                ", not node " + node + "; nothing changed");
        }
        return adminCall(AdminProtocol.ADD_LEARNER, 0, node, raftEndpoint + " " + clientEndpoint, new long[0], timeout);
    }

    /**
     * Makes a learner a voter (joint consensus). A learner {@link AdminProtocol#CATCH_UP_SLACK}
     * entries or more behind the leader's commit index has not caught up: it is refused at once
     * ({@link AdminProtocol#NOT_CAUGHT_UP}, nothing changed) unless {@code waitForCatchUp}, which
     * waits for it within the timeout (then {@link AdminStatus#TIMED_OUT}, nothing changed, if it
     * did not catch up).
     *
     * @param node           a learner
     * @param waitForCatchUp wait for it to catch up instead of refusing at once
     * @param timeout        how long it may take
     * @return the outcome
     * @throws IllegalArgumentException if the id is not positive
     */
    public AdminOutcome promote(final long node, final boolean waitForCatchUp, final Duration timeout)
    {
        requireNode(node);
        return adminCall(AdminProtocol.PROMOTE, waitForCatchUp ? AdminProtocol.FLAG_WAIT : 0, node, "", new long[0], timeout);
    }

    /**
     * Makes {@code voters} the voter set (joint consensus; members already, new ones learners
     * caught up as for {@link #promote}); members left out stop voting and are removed.
     *
     * @param voters         the new voter set
     * @param waitForCatchUp wait for new voters to catch up instead of refusing at once
     * @param timeout        how long it may take
     * @return the outcome
     * @throws IllegalArgumentException if the set is empty or names an id that is not positive
     */
    public AdminOutcome changeVoters(final long[] voters, final boolean waitForCatchUp, final Duration timeout)
    {
        if (voters.length == 0)
        {
            throw new IllegalArgumentException("voters: the new voter set is empty");
        }
        for (final long v : voters)
        {
            requireNode(v);
        }
        return adminCall(AdminProtocol.CHANGE_VOTERS, waitForCatchUp ? AdminProtocol.FLAG_WAIT : 0, 0, "", voters.clone(), timeout);
    }

    /**
     * Removes a learner or a voter. The last voter is not removed; removing the leader hands
     * leadership to the most advanced remaining voter first, which then removes it.
     *
     * @param node    a member
     * @param timeout how long it may take
     * @return the outcome
     * @throws IllegalArgumentException if the id is not positive
     */
    public AdminOutcome remove(final long node, final Duration timeout)
    {
        requireNode(node);
        return adminCall(AdminProtocol.REMOVE, 0, node, "", new long[0], timeout);
    }

    /**
     * Hands leadership to a voter: writes pause while it takes over.
     *
     * @param node    a voter
     * @param timeout how long it may take
     * @return the outcome
     * @throws IllegalArgumentException if the id is not positive
     */
    public AdminOutcome transferLeadership(final long node, final Duration timeout)
    {
        requireNode(node);
        return adminCall(AdminProtocol.TRANSFER, 0, node, "", new long[0], timeout);
    }

    /**
     * Builds a snapshot (and compacts the log behind it) on the first member that answers.
     *
     * @param timeout how long it may take
     * @return the outcome; {@link AdminOutcome#index()} is the last index the snapshot covers
     */
    public AdminOutcome snapshot(final Duration timeout)
    {
        return adminCall(AdminProtocol.SNAPSHOT, 0, 0, "", new long[0], timeout);
    }

    private static void requireNode(final long node)
    {
        if (node <= 0)
        {
            throw new IllegalArgumentException("node id " + node + " must be > 0");
        }
    }

    private static long millis(final Duration timeout)
    {
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("timeout " + timeout + " must be positive");
        }
        return Math.max(1, timeout.toMillis());
    }

    /**
     * A status or snapshot goes to the first member that answers. A change first finds the leader
     * (asking the members in turn for their status), then goes to it alone with the time left, and
     * follows it if leadership moves: a change is never sent to two members at once.
     */
    private AdminOutcome adminCall(final byte op, final int flags, final long node, final String endpoint, final long[] voters,
        final Duration timeout)
    {
        final long timeoutMs = millis(timeout);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        final boolean local = op == AdminProtocol.STATUS || op == AdminProtocol.SNAPSHOT;
        int next = 0;
        String leader = null;
        String lastProblem = "no member answered";
        while (System.nanoTime() < deadline)
        {
            final long remainingMs = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            if (local || leader == null)
            {
                final String member = ctx.endpoints.get(next++ % ctx.endpoints.size());
                final long waitMs = op == AdminProtocol.SNAPSHOT ? remainingMs : Math.min(remainingMs, 1_000);
                final AdminProtocol.Response r = ask(member, local ? op : AdminProtocol.STATUS, 0, 0, "", new long[0], waitMs, waitMs);
                if (r == null)
                {
                    lastProblem = "no answer from " + member;
                }
                else if (local)
                {
                    return AdminOutcome.of(r);
                }
                else if (r.nodeId() == r.leaderId())
                {
                    leader = member;
                }
                else if (!r.leaderEndpoint().isEmpty())
                {
                    leader = r.leaderEndpoint();
                }
                else
                {
                    lastProblem = "node " + r.nodeId() + " knows no leader";
                    pollFor(ADMIN_RETRY_NS);
                }
                continue;
            }
            final AdminProtocol.Response r = ask(leader, op, flags, node, endpoint, voters, remainingMs,
                remainingMs + ADMIN_ANSWER_GRACE_MS);
            if (r == null)
            {
                return AdminOutcome.refused(AdminProtocol.NO_ANSWER, "no answer from the leader at " + leader + " within " +
                    (remainingMs + ADMIN_ANSWER_GRACE_MS) + " ms; the change may or may not have happened");
            }
            if (r.status() == AdminProtocol.REDIRECT)
            {
                leader = r.leaderEndpoint();
                continue;
            }
            if (r.status() == AdminProtocol.NO_LEADER)
            {
                lastProblem = r.message();
                leader = null;
                pollFor(ADMIN_RETRY_NS);
                continue;
            }
            return AdminOutcome.of(r);
        }
        return AdminOutcome.refused(AdminProtocol.NO_ANSWER, lastProblem + " within " + timeoutMs + " ms" +
            (local ? "" : "; nothing was sent to a leader, nothing changed"));
    }

    /**
     * Sends one admin request to one endpoint and polls this client up to {@code waitMs} for the
     * answer, resending a status while unanswered (a change is sent once: a second copy could be
     * taken for a new request once the first completed).
     *
     * @return the answer, or null if none came
     */
    private AdminProtocol.Response ask(final String to, final byte op, final int flags, final long node, final String endpoint,
        final long[] voters, final long timeoutMs, final long waitMs)
    {
        if (closed)
        {
            return null;
        }
        if (adminSubscription == null)
        {
            adminSubscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(replyHost + ":0").build(),
                AdminProtocol.STREAM_ID);
            adminReplyEndpoint = resolvedEndpoint(adminSubscription);
        }
        ExclusivePublication publication = adminPublications.get(to);
        if (publication == null)
        {
            try
            {
                publication = newPublication(to, AdminProtocol.STREAM_ID);
            }
            catch (final RuntimeException ex)
            {
                return null;
            }
            adminPublications.put(to, publication);
        }
        final long id = ++adminCorrelation;
        final byte[] unsigned = new AdminProtocol.Request(op, flags, ctx.clusterId, id, node, timeoutMs, adminReplyEndpoint, endpoint,
            voters).encode();
        if (auth != null)
        {
            AdminProtocol.markSigned(unsigned);
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        adminAwaited = id;
        adminReceived = null;
        boolean sent = false;
        long sentAt = 0;
        try
        {
            while (System.nanoTime() < deadline && !closed)
            {
                if (!sent || (op == AdminProtocol.STATUS && System.nanoTime() - sentAt > ctx.resendIntervalNs))
                {
                    // Signed anew for every copy: a node drops a frame it has seen.
                    final UnsafeBuffer signed = new UnsafeBuffer(auth == null ? unsigned : auth.sign(unsigned));
                    if (Offers.offer(publication, signed, 0, signed.capacity()) > 0)
                    {
                        sent = true;
                        sentAt = System.nanoTime();
                    }
                }
                final int work = poll();
                if (adminReceived != null)
                {
                    return adminReceived;
                }
                if (work == 0)
                {
                    LockSupport.parkNanos(200_000);
                }
            }
            return null;
        }
        finally
        {
            adminAwaited = 0;
            adminReceived = null;
        }
    }

    /** Polls this client for a while (between admin retries). */
    private void pollFor(final long ns)
    {
        final long until = System.nanoTime() + ns;
        while (System.nanoTime() - until < 0 && !closed)
        {
            idle(poll());
        }
    }

    private void onAdminFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final int content = admit(buffer, offset, length, AdminProtocol.isSigned(buffer, offset, length));
        if (content < 0)
        {
            return;
        }
        final AdminProtocol.Response r = AdminProtocol.Response.decode(buffer, offset, content);
        if (r != null && adminAwaited != 0 && r.correlation() == adminAwaited && (ctx.clusterId == 0 || r.clusterId() == ctx.clusterId))
        {
            adminReceived = r;
        }
    }

    /**
     * Polls until {@code future} completes.
     *
     * @param future a future of this client
     * @return its value
     */
    public <T> T await(final CompletableFuture<T> future)
    {
        while (!future.isDone())
        {
            idle(poll());
        }
        return future.join();
    }

    /**
     * Does the client's work: sends what is due, delivers answers, follows the leader, resends
     * and times out, keeps the session alive.
     *
     * @return the work done
     */
    public int poll()
    {
        if (closed)
        {
            return 0;
        }
        final long now = System.nanoTime();
        int work = pollNetwork();
        work += sendDue(now);
        if (now - lastScanNs > 1_000_000L)
        {
            lastScanNs = now;
            work += scan(now);
        }
        return work;
    }

    /**
     * Closes the session (best effort, through the log), then the publications, the
     * subscription, the Aeron client and an embedded media driver (deleting its directory).
     * Commands without an outcome end with {@link Outcome#CLIENT_CLOSED}. Idempotent.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        if (sessionId != 0 && !sessionClosed)
        {
            final PendingRequest bye = new PendingRequest(ClientProtocol.CLOSE, nextRequestId++, null, null, 0);
            sendRequest(bye, System.nanoTime());
            invokeConductor();
        }
        for (int i = 0; i < window; i++)
        {
            if (slotState[i] != FREE)
            {
                resolve(i, Outcome.CLIENT_CLOSED, false, 0, sendBuffer, 0, 0);
            }
        }
        failRequests(ClientProtocol.NO_LEADER, "client closed");
        closeResources();
    }

    private void closeResources()
    {
        closed = true;
        sessionClosed = true;
        for (final Target t : targets)
        {
            CloseHelper.quietClose(t.publication);
        }
        adminPublications.values().forEach(CloseHelper::quietClose);
        CloseHelper.quietCloseAll(adminSubscription, subscription, aeron, driver);
    }

    private long enqueue(final DirectBuffer buffer, final int offset, final int length, final CompletableFuture<CommandResult> future)
    {
        if (sessionClosed)
        {
            return CLOSED;
        }
        if (length > ctx.maxCommandLength || length < 0)
        {
            return TOO_LARGE;
        }
        if (nextSeq - lowestUnresolved >= window)
        {
            return BACK_PRESSURED;
        }
        final long seq = nextSeq++;
        final int slot = (int)(seq % window);
        ExpandableArrayBuffer bytes = slotBytes[slot];
        if (bytes == null)
        {
            bytes = new ExpandableArrayBuffer(Math.max(64, length));
            slotBytes[slot] = bytes;
        }
        bytes.putBytes(0, buffer, offset, length);
        slotLength[slot] = length;
        slotSeq[slot] = seq;
        slotState[slot] = TO_SEND;
        final long now = System.nanoTime();
        slotDeadlineNs[slot] = now + ctx.commandTimeoutNs;
        slotNotBeforeNs[slot] = now;
        slotFuture[slot] = future;
        sendDue(now);
        return seq;
    }

    private int pollNetwork()
    {
        return invokeConductor() + subscription.poll(assembler, 256) +
            (adminSubscription == null ? 0 : adminSubscription.poll(adminAssembler, 16));
    }

    private int invokeConductor()
    {
        return (conductor == null ? 0 : conductor.invoke()) + (driverInvoker == null ? 0 : driverInvoker.invoke());
    }

    private int sendDue(final long now)
    {
        int sent = 0;
        final ExclusivePublication publication = target.publication();
        if (publication == null || !publication.isConnected())
        {
            return 0;
        }
        long firstLeft = -1;
        for (long seq = Math.max(sendFrom, lowestUnresolved); seq < nextSeq; seq++)
        {
            final int slot = (int)(seq % window);
            if (slotState[slot] != TO_SEND || slotSeq[slot] != seq)
            {
                continue;
            }
            if (now - slotNotBeforeNs[slot] < 0)
            {
                firstLeft = firstLeft < 0 ? seq : firstLeft;
                continue;
            }
            ClientProtocol.encodeRequestHeader(sendBuffer, 0, ClientProtocol.COMMAND, ctx.clusterId, sessionId, seq, floor());
            sendBuffer.putBytes(ClientProtocol.REQUEST_HEADER, slotBytes[slot], 0, slotLength[slot]);
            final long result = Offers.offer(publication, sendBuffer, 0, sign(ClientProtocol.REQUEST_HEADER + slotLength[slot]));
            if (result < 0)
            {
                if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
                {
                    target.reset();
                }
                firstLeft = firstLeft < 0 ? seq : firstLeft;
                break;
            }
            slotState[slot] = SENT;
            slotSentNs[slot] = now;
            lastSendNs = now;
            sent++;
        }
        sendFrom = firstLeft < 0 ? nextSeq : firstLeft;
        return sent;
    }

    /** Every sequence at or below has its outcome at this client. */
    private long floor()
    {
        return lowestUnresolved - 1;
    }

    private int scan(final long now)
    {
        int work = 0;
        boolean silent = false;
        for (long seq = lowestUnresolved; seq < nextSeq; seq++)
        {
            final int slot = (int)(seq % window);
            if (slotState[slot] == FREE || slotSeq[slot] != seq)
            {
                continue;
            }
            if (now - slotDeadlineNs[slot] >= 0)
            {
                resolve(slot, Outcome.TIMED_OUT, false, 0, sendBuffer, 0, 0);
                work++;
            }
            else if (slotState[slot] == SENT && now - slotSentNs[slot] > ctx.resendIntervalNs)
            {
                silent = true;
            }
        }
        final ExclusivePublication publication = target.publication();
        final boolean unreachable = (publication == null || !publication.isConnected()) && now - target.since > ctx.resendIntervalNs &&
            (inFlight() > 0 || !requests.isEmpty());
        if (silent || unreachable)
        {
            // The node we talk to went quiet: try the next member, and resend everything unanswered (same sequences).
            rotate(now);
            rewind(now, 0);
            work++;
        }
        final Iterator<PendingRequest> it = requests.values().iterator();
        List<PendingRequest> expired = null;
        while (it.hasNext())
        {
            final PendingRequest p = it.next();
            if (p.type == ClientProtocol.OPEN)
            {
                continue;
            }
            if (now - p.deadlineNs >= 0)
            {
                expired = expired == null ? new ArrayList<>() : expired;
                expired.add(p);
            }
            else if (!p.sent && now - p.notBeforeNs >= 0)
            {
                sendRequest(p, now);
            }
            else if (p.sent && p.pinned == null && now - p.sentNs > ctx.resendIntervalNs)
            {
                p.sent = false;
            }
        }
        if (expired != null)
        {
            for (final PendingRequest p : expired)
            {
                requests.remove(p.id);
                p.fail(ClientProtocol.NO_LEADER, "no answer within " + TimeUnit.NANOSECONDS.toMillis(ctx.commandTimeoutNs) + " ms");
            }
        }
        if (sessionId != 0 && !sessionClosed && now - lastSendNs > ctx.keepaliveIntervalNs)
        {
            lastSendNs = now;
            final PendingRequest keepalive = new PendingRequest(ClientProtocol.KEEPALIVE, 0, null, null, 0);
            sendRequest(keepalive, now);
        }
        return work;
    }

    private void rewind(final long now, final long delayNs)
    {
        sendFrom = lowestUnresolved;
        for (long seq = lowestUnresolved; seq < nextSeq; seq++)
        {
            final int slot = (int)(seq % window);
            if (slotState[slot] == SENT && slotSeq[slot] == seq)
            {
                slotState[slot] = TO_SEND;
                slotNotBeforeNs[slot] = now + delayNs;
            }
        }
    }

    /**
     * The member the client talks to answered that it knows no leader: it may be cut off from the others (the
     * minority side of a partition, a member still joining) while they have one, and it answers, so the client
     * would never go quiet and move on; it tries the next member instead (at most once per retry delay, so the
     * answers to several requests in flight move it once). During an election every member answers so and the
     * client goes round them; a redirect takes it to the leader.
     */
    private void onNoLeader(final long now)
    {
        if (targets.size() > 1 && now - lastNoLeaderMoveNs >= ctx.retryDelayNs)
        {
            lastNoLeaderMoveNs = now;
            rotate(now);
        }
    }

    private void rotate(final long now)
    {
        final int i = targets.indexOf(target);
        target = targets.get((i + 1) % targets.size());
        target.touch(now);
    }

    private void sendRequest(final PendingRequest p, final long now)
    {
        final Target to = p.pinned != null ? p.pinned : target;
        final ExclusivePublication publication = to.publication();
        if (publication == null || !publication.isConnected())
        {
            return;
        }
        ClientProtocol.encodeRequestHeader(sendBuffer, 0, p.type, ctx.clusterId, p.type == ClientProtocol.OPEN ? 0 : sessionId, p.id,
            floor());
        if (p.bodyLength > 0)
        {
            sendBuffer.putBytes(ClientProtocol.REQUEST_HEADER, p.body, 0, p.bodyLength);
        }
        if (Offers.offer(publication, sendBuffer, 0, sign(ClientProtocol.REQUEST_HEADER + p.bodyLength)) > 0)
        {
            p.sent = true;
            p.sentNs = now;
            if (p.type != ClientProtocol.QUERY && p.type != ClientProtocol.STATUS)
            {
                lastSendNs = now;
            }
        }
    }

    /** Signs the request in the send buffer if the client has credentials; returns the frame's length. */
    private int sign(final int length)
    {
        if (auth == null)
        {
            return length;
        }
        ClientProtocol.markSigned(sendBuffer, 0);
        return length + auth.sign(sendBuffer, 0, length);
    }

    /**
     * @return the answers dropped because they were not authentic: unsigned, forged, altered,
     *         replayed, or signed when this client has no credentials
     */
    public long refusedResponses()
    {
        return auth != null ? auth.dropped() : unexpectedlySigned;
    }

    /** The gate of an answer: its content's length, or -1 if it is not authentic (counted). */
    private int admit(final DirectBuffer buffer, final int offset, final int length, final boolean signed)
    {
        if (auth != null)
        {
            return auth.admit(buffer, offset, length, signed);
        }
        if (signed)
        {
            unexpectedlySigned++;
            return -1;
        }
        return length;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final int contentLength = admit(buffer, offset, length, ClientProtocol.isSigned(buffer, offset, length));
        if (contentLength < 0)
        {
            return;
        }
        if (!response.decode(buffer, offset, contentLength))
        {
            return;
        }
        final long now = System.nanoTime();
        if (response.requestType == ClientProtocol.COMMAND)
        {
            if (response.sessionId == sessionId)
            {
                onCommandResponse(buffer, now);
            }
            return;
        }
        if (response.requestType == ClientProtocol.KEEPALIVE)
        {
            onKeepaliveResponse(buffer, now);
            return;
        }
        final PendingRequest p = requests.get(response.correlation);
        if (p == null || p.type != response.requestType || (p.type != ClientProtocol.OPEN && response.sessionId != sessionId))
        {
            return;
        }
        final String text = response.payloadLength > 0 && response.status != ClientProtocol.OK ?
            buffer.getStringWithoutLengthUtf8(response.payloadOffset, response.payloadLength) : "";
        if (response.status == ClientProtocol.REDIRECT && p.pinned == null)
        {
            target = target(text);
            target.touch(now);
            p.sent = false;
            p.notBeforeNs = now;
            if (p.type == ClientProtocol.OPEN)
            {
                sendRequest(p, now);
            }
            return;
        }
        if ((response.status == ClientProtocol.NO_LEADER || response.status == ClientProtocol.BUSY) && p.type != ClientProtocol.OPEN)
        {
            p.sent = false;
            p.notBeforeNs = now + ctx.retryDelayNs;
            if (response.status == ClientProtocol.NO_LEADER && p.pinned == null)
            {
                onNoLeader(now);
            }
            return;
        }
        if (p.type == ClientProtocol.OPEN)
        {
            p.answered = true;
            p.status = response.status;
            p.value = response.value;
            p.message = text;
            return;
        }
        requests.remove(p.id);
        if (p.type == ClientProtocol.STATUS)
        {
            if (response.status != ClientProtocol.OK)
            {
                // Refused (e.g. the member does not know the session yet): no status, rather than a payload read as one.
                p.statusFuture.complete(null);
                return;
            }
            final long[] f = new long[ClientProtocol.STATUS_LONGS];
            for (int i = 0; i < f.length && (i + 1) * 8 <= response.payloadLength; i++)
            {
                f[i] = buffer.getLong(response.payloadOffset + i * 8);
            }
            final Role[] roles = Role.values();
            final String role = response.value >= 0 && response.value < roles.length ? roles[(int)response.value].name() : "UNKNOWN";
            p.statusFuture.complete(new NodeStatus(f[0], role, f[1], response.leaderId, f[2], f[3], f[4]));
            return;
        }
        if (response.status == ClientProtocol.UNKNOWN_SESSION)
        {
            onSessionClosed();
        }
        final byte[] bytes = new byte[response.status == ClientProtocol.OK ? response.payloadLength : 0];
        buffer.getBytes(response.payloadOffset, bytes);
        p.queryFuture.complete(new QueryResult(response.status, response.index, bytes, text));
    }

    /**
     * A keepalive sent to a member that no longer leads is answered with a redirect (or no leader):
     * unless it reaches the leader the session expires, so a client that sends no commands (only
     * queries, which any member answers) follows the leader here and sends its keepalive again.
     */
    private void onKeepaliveResponse(final DirectBuffer buffer, final long now)
    {
        if (response.sessionId != sessionId || sessionClosed)
        {
            return;
        }
        if (response.status == ClientProtocol.REDIRECT && response.payloadLength > 0)
        {
            target = target(buffer.getStringWithoutLengthUtf8(response.payloadOffset, response.payloadLength));
            target.touch(now);
            lastSendNs = now - ctx.keepaliveIntervalNs + ctx.retryDelayNs;
        }
        else if (response.status == ClientProtocol.NO_LEADER || response.status == ClientProtocol.BUSY)
        {
            lastSendNs = now - ctx.keepaliveIntervalNs + ctx.retryDelayNs;
            if (response.status == ClientProtocol.NO_LEADER)
            {
                onNoLeader(now);
            }
        }
        else if (response.status == ClientProtocol.UNKNOWN_SESSION)
        {
            onSessionClosed();
        }
    }

    private void onCommandResponse(final DirectBuffer buffer, final long now)
    {
        final long seq = response.correlation;
        if (seq < lowestUnresolved || seq >= nextSeq)
        {
            return;
        }
        final int slot = (int)(seq % window);
        if (slotState[slot] == FREE || slotSeq[slot] != seq)
        {
            return;
        }
        final boolean duplicate = (response.flags & ClientProtocol.FLAG_DUPLICATE) != 0;
        switch (response.status)
        {
            case ClientProtocol.OK:
                resolve(slot, Outcome.OK, duplicate, response.index, buffer, response.payloadOffset, response.payloadLength);
                break;
            case ClientProtocol.RESPONSE_EVICTED:
                resolve(slot, Outcome.APPLIED_RESPONSE_EVICTED, true, response.index, buffer, 0, 0);
                break;
            case ClientProtocol.REDIRECT:
            {
                final Target leader = target(buffer.getStringWithoutLengthUtf8(response.payloadOffset, response.payloadLength));
                if (leader != target)
                {
                    target = leader;
                    target.touch(now);
                    rewind(now, 0);
                }
                else
                {
                    markToSend(slot, now + ctx.retryDelayNs);
                }
                break;
            }
            case ClientProtocol.NO_LEADER:
                // Not applied: send again with the same sequence, to the next member (see onNoLeader).
                onNoLeader(now);
                markToSend(slot, now + ctx.retryDelayNs);
                break;
            case ClientProtocol.BUSY:
            case ClientProtocol.WINDOW_FULL:
            case ClientProtocol.ABORTED:
            case ClientProtocol.UNKNOWN_OUTCOME:
                // Not applied, or not known: send again with the same sequence (the cluster applies it at most once).
                markToSend(slot, now + ctx.retryDelayNs);
                break;
            case ClientProtocol.UNKNOWN_SESSION:
                onSessionClosed();
                break;
            default:
                // Refused (BAD_REQUEST, STALE): the payload says why.
                resolve(slot, Outcome.REJECTED, false, response.index, buffer, response.payloadOffset, response.payloadLength);
                break;
        }
    }

    private void markToSend(final int slot, final long notBeforeNs)
    {
        slotState[slot] = TO_SEND;
        slotNotBeforeNs[slot] = notBeforeNs;
        sendFrom = Math.min(sendFrom, slotSeq[slot]);
    }

    private void onSessionClosed()
    {
        sessionClosed = true;
        for (long seq = lowestUnresolved; seq < nextSeq; seq++)
        {
            final int slot = (int)(seq % window);
            if (slotState[slot] != FREE && slotSeq[slot] == seq)
            {
                resolve(slot, Outcome.SESSION_CLOSED, false, 0, sendBuffer, 0, 0);
            }
        }
    }

    private void resolve(final int slot, final int outcome, final boolean duplicate, final long index, final DirectBuffer buffer,
        final int offset, final int length)
    {
        final long seq = slotSeq[slot];
        slotState[slot] = FREE;
        final CompletableFuture<CommandResult> future = slotFuture[slot];
        slotFuture[slot] = null;
        while (lowestUnresolved < nextSeq && slotState[(int)(lowestUnresolved % window)] == FREE)
        {
            lowestUnresolved++;
        }
        if (future != null)
        {
            final byte[] bytes = new byte[length];
            buffer.getBytes(offset, bytes);
            future.complete(new CommandResult(seq, outcome, duplicate, index, bytes));
        }
        else if (handler != null)
        {
            handler.onResponse(seq, outcome, duplicate, index, buffer, offset, length);
        }
    }

    private void failRequests(final int status, final String why)
    {
        for (final PendingRequest p : requests.values())
        {
            p.fail(status, why);
        }
        requests.clear();
    }

    private void idle(final int work)
    {
        if (work == 0)
        {
            LockSupport.parkNanos(50_000);
        }
    }

    private Target target(final String endpoint)
    {
        for (final Target t : targets)
        {
            if (t.endpoint.equals(endpoint))
            {
                return t;
            }
        }
        parse(endpoint);
        final Target t = new Target(endpoint);
        targets.add(t);
        return t;
    }

    /**
     * Parses "host:port".
     *
     * @param endpoint the endpoint
     * @return its address
     * @throws IllegalArgumentException naming the endpoint if it does not parse or resolve
     */
    public static InetSocketAddress parse(final String endpoint)
    {
        final int colon = endpoint == null ? -1 : endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1)
        {
            throw new IllegalArgumentException("endpoint " + endpoint + " is not host:port");
        }
        final int port;
        try
        {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("endpoint " + endpoint + " has a port that is not a number");
        }
        if (port < 1 || port > 65535)
        {
            throw new IllegalArgumentException("endpoint " + endpoint + " has a port outside 1..65535");
        }
        final String host = endpoint.substring(0, colon).replace("[", "").replace("]", "");
        final InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved())
        {
            throw new IllegalArgumentException("endpoint " + endpoint + ": unknown host " + host);
        }
        return address;
    }

    /**
     * @param node a node's address
     * @return the local address the nodes can reply to: the one the route to {@code node} leaves from
     */
    public static String replyHostFor(final InetSocketAddress node)
    {
        if (node.getAddress().isLoopbackAddress())
        {
            return node.getAddress().getHostAddress();
        }
        try (DatagramSocket probe = new DatagramSocket())
        {
            probe.connect(node);
            final InetAddress local = probe.getLocalAddress();
            final String host = local.getHostAddress();
            return host.contains(":") ? "[" + host + "]" : host;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("no route to " + node, ex);
        }
    }

    private ExclusivePublication newPublication(final String endpoint, final int streamId)
    {
        return aeron.addExclusivePublication(PublicationChannels.udp(endpoint, ctx.termLength, ctx.mtu), streamId);
    }

    /** A member's client endpoint and the publication to it, created on first use. */
    private final class Target
    {
        final String endpoint;
        ExclusivePublication publication;
        long since = System.nanoTime();
        long retryCreateAtNs;
        boolean everConnected;

        Target(final String endpoint)
        {
            this.endpoint = endpoint;
        }

        ExclusivePublication publication()
        {
            final long now = System.nanoTime();
            if (publication == null && now - retryCreateAtNs >= 0)
            {
                try
                {
                    publication = newPublication(endpoint, ClientProtocol.STREAM_ID);
                    since = now;
                }
                catch (final RuntimeException ex)
                {
                    retryCreateAtNs = now + TimeUnit.SECONDS.toNanos(1);
                    System.err.println("ringraft client: cannot send to " + endpoint + ": " + ex.getMessage());
                }
            }
            if (publication != null && !everConnected && publication.isConnected())
            {
                everConnected = true;
            }
            return publication;
        }

        void touch(final long now)
        {
            if (publication == null || !publication.isConnected())
            {
                since = Math.max(since, now);
            }
        }

        void reset()
        {
            CloseHelper.quietClose(publication);
            publication = null;
        }
    }

    /** An OPEN, QUERY, STATUS, KEEPALIVE or CLOSE until its answer. */
    private static final class PendingRequest
    {
        final byte type;
        final long id;
        final CompletableFuture<QueryResult> queryFuture;
        final CompletableFuture<NodeStatus> statusFuture;
        final long deadlineNs;
        ExpandableArrayBuffer body;
        int bodyLength;
        Target pinned;
        boolean sent;
        long sentNs;
        long notBeforeNs;
        boolean answered;
        int status;
        long value;
        String message = "";

        PendingRequest(final byte type, final long id, final CompletableFuture<QueryResult> queryFuture,
            final CompletableFuture<NodeStatus> statusFuture, final long deadlineNs)
        {
            this.type = type;
            this.id = id;
            this.queryFuture = queryFuture;
            this.statusFuture = statusFuture;
            this.deadlineNs = deadlineNs;
        }

        void fail(final int status, final String why)
        {
            if (queryFuture != null)
            {
                queryFuture.complete(new QueryResult(status, 0, new byte[0], why));
            }
            if (statusFuture != null)
            {
                statusFuture.complete(null);
            }
        }
    }

    /** Settings of a {@link RingraftClient}. */
    public static final class Context
    {
        private final List<String> endpoints = new ArrayList<>();
        private int clusterId;
        private long commandTimeoutNs = TimeUnit.SECONDS.toNanos(5);
        private long connectTimeoutNs = TimeUnit.SECONDS.toNanos(10);
        private long resendIntervalNs = TimeUnit.MILLISECONDS.toNanos(1000);
        private long retryDelayNs = TimeUnit.MILLISECONDS.toNanos(20);
        private long keepaliveIntervalNs = TimeUnit.SECONDS.toNanos(2);
        private int window = 64;
        private int maxCommandLength;
        private String aeronDirectory;
        private int termLength = 256 * 1024;
        private int mtu = PublicationChannels.MTU_AUTO;
        private ResponseHandler handler;
        private boolean session = true;
        private boolean invokedDriver;
        private long clientId;
        private Path keyFile;
        private KeyRing keyRing;

        /** @param endpoint a member's client endpoint "host:port"; the first is tried first */
        public Context endpoint(final String endpoint)
        {
            endpoints.add(endpoint);
            return this;
        }

        /** @param endpoints the members' client endpoints; the first is tried first */
        public Context endpoints(final List<String> endpoints)
        {
            this.endpoints.addAll(endpoints);
            return this;
        }

        /** @param clusterId the cluster the nodes must belong to; 0 accepts any */
        public Context clusterId(final int clusterId)
        {
            this.clusterId = clusterId;
            return this;
        }

        /** @param timeout how long a command (or query) may take, resends included; it then ends {@link Outcome#TIMED_OUT} */
        public Context commandTimeout(final long timeout, final TimeUnit unit)
        {
            this.commandTimeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @param timeout how long {@link #connect} may take to open a session */
        public Context connectTimeout(final long timeout, final TimeUnit unit)
        {
            this.connectTimeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @param interval silence after which the client tries the next member and resends what is unanswered */
        public Context resendInterval(final long interval, final TimeUnit unit)
        {
            this.resendIntervalNs = unit.toNanos(interval);
            return this;
        }

        /** @param delay wait before resending after NO_LEADER or BUSY */
        public Context retryDelay(final long delay, final TimeUnit unit)
        {
            this.retryDelayNs = unit.toNanos(delay);
            return this;
        }

        /** @param interval an idle session sends a keepalive this often (keep it well below the cluster's session timeout) */
        public Context keepaliveInterval(final long interval, final TimeUnit unit)
        {
            this.keepaliveIntervalNs = unit.toNanos(interval);
            return this;
        }

        /** @param window commands in flight at most */
        public Context window(final int window)
        {
            this.window = window;
            return this;
        }

        /** @return commands in flight at most */
        public int window()
        {
            return window;
        }

        /** @param length the longest command; 0 (the default) is what one message of the term length carries */
        public Context maxCommandLength(final int length)
        {
            this.maxCommandLength = length;
            return this;
        }

        /** @param dir the directory of a running media driver; null (the default) launches an embedded one, removed on close */
        public Context aeronDirectory(final String dir)
        {
            this.aeronDirectory = dir;
            return this;
        }

        /** @param termLength the term length of the publications to the nodes (a power of two from 64 KiB) */
        public Context termLength(final int termLength)
        {
            this.termLength = termLength;
            return this;
        }

        /**
         * @param mtu the MTU of the publications to the nodes: {@link PublicationChannels#MTU_AUTO} (the default)
         *            chooses by endpoint (large on loopback, Aeron's default elsewhere); or a multiple of 32 from
         *            1,024 to 65,504, at most termLength / 8 (see {@link PublicationChannels})
         */
        public Context mtu(final int mtu)
        {
            this.mtu = mtu;
            return this;
        }

        /**
         * @param session true (the default) to open a session on {@link #connect}; false for a client that only
         *                administers ({@link RingraftClient#addLearner} and the other admin operations): it
         *                needs no leader to connect, its commands, queries and statuses end at once (no session), and
         *                its Aeron client runs a conductor thread of its own, so it may stay idle between operations
         */
        public Context session(final boolean session)
        {
            this.session = session;
            return this;
        }

        /**
         * @param invokedDriver true to run the embedded media driver inside {@link RingraftClient#poll()} (Aeron's
         *                      INVOKER mode) instead of on a thread of its own: one thread fewer, one hand-off fewer
         *                      each way, and {@link RingraftClient#idleStrategy()} sleeps on the driver's sockets.
         *                      Needs a session and the embedded driver (no {@link #aeronDirectory}); {@code poll()}
         *                      must then run at least every few seconds (the driver's client timeout is 10 s), as it
         *                      must anyway for a session's conductor. Default false
         * @return this
         */
        public Context invokedDriver(final boolean invokedDriver)
        {
            this.invokedDriver = invokedDriver;
            return this;
        }

        /** @param handler receives the outcomes of {@link RingraftClient#offer}ed commands */
        public Context responseHandler(final ResponseHandler handler)
        {
            this.handler = handler;
            return this;
        }

        /**
         * Authenticates the client: every request is signed with its key, and only answers signed
         * with it are accepted. The nodes' credentials file must list the client under this id with
         * this key. The key is read from the file when the client connects (a rotated key is
         * picked up by the next client).
         *
         * @param clientId the client's id, {@code > 0}
         * @param keyFile  the client's key file: {@code key.N = hex} lines (16 to 64 bytes), and
         *                 {@code sign = N} when there are two (see {@link io.ringraft.transport.aeron.ClusterKeys});
         *                 null for an unauthenticated client (the default)
         * @return this
         */
        public Context credentials(final long clientId, final Path keyFile)
        {
            this.clientId = clientId;
            this.keyFile = keyFile;
            return this;
        }

        /** @return the client's id, 0 when it has no credentials */
        public long clientId()
        {
            return keyFile == null ? 0 : clientId;
        }

        /**
         * Validates the settings.
         *
         * @return this
         * @throws IllegalArgumentException naming the first bad setting
         */
        public Context conclude()
        {
            if (endpoints.isEmpty())
            {
                throw new IllegalArgumentException("endpoints: no member endpoint to connect to");
            }
            for (final String endpoint : endpoints)
            {
                parse(endpoint);
            }
            if (termLength < 64 * 1024 || Integer.bitCount(termLength) != 1)
            {
                throw new IllegalArgumentException("termLength=" + termLength + " must be a power of two from 65536");
            }
            final String mtuProblem = PublicationChannels.mtuProblem(mtu, termLength);
            if (mtuProblem != null)
            {
                throw new IllegalArgumentException("mtu=" + mtu + " " + mtuProblem + " (termLength=" + termLength + ")");
            }
            if (invokedDriver && (!session || aeronDirectory != null))
            {
                throw new IllegalArgumentException("invokedDriver=true needs a session and the embedded driver; this client has session=" +
                    session + (aeronDirectory == null ? "" : " and aeronDirectory=" + aeronDirectory));
            }
            if (keyFile != null)
            {
                if (clientId <= 0)
                {
                    throw new IllegalArgumentException("clientId=" + clientId + " must be > 0 (the id the nodes' credentials file lists)");
                }
                try
                {
                    keyRing = KeyRing.load(keyFile);
                }
                catch (final IllegalArgumentException ex)
                {
                    throw new IllegalArgumentException("keyFile=" + keyFile + ": " + ex.getMessage(), ex);
                }
            }
            else
            {
                keyRing = null;
            }
            final int largest = AeronTransportConfig.aeronMaxMessageLength(termLength) - ClientProtocol.REQUEST_HEADER -
                (keyRing != null ? ClientAuth.OVERHEAD : 0);
            if (maxCommandLength == 0)
            {
                maxCommandLength = largest;
            }
            if (maxCommandLength < 0 || maxCommandLength > largest)
            {
                throw new IllegalArgumentException("maxCommandLength=" + maxCommandLength + " must be in 1.." + largest +
                    " (termLength=" + termLength + ")");
            }
            if (window < 1 || window > 1 << 16)
            {
                throw new IllegalArgumentException("window=" + window + " must be in 1..65536");
            }
            if (commandTimeoutNs <= 0 || connectTimeoutNs <= 0 || resendIntervalNs <= 0 || retryDelayNs < 0 || keepaliveIntervalNs <= 0)
            {
                throw new IllegalArgumentException("timeouts must be positive: command " + commandTimeoutNs + " ns, connect " +
                    connectTimeoutNs + " ns, resend " + resendIntervalNs + " ns, keepalive " + keepaliveIntervalNs + " ns");
            }
            return this;
        }
    }
}
