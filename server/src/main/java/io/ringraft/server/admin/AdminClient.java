package io.ringraft.server.admin;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.AdminStatus;
import io.ringraft.server.kv.KvClient;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends {@linkplain AdminProtocol admin requests} to the members of a cluster and waits for the
 * answer: it asks each given member in turn until one answers, follows
 * {@link AdminProtocol#REDIRECT}s to the leader, and retries while no leader is known, within one
 * timeout per call. One thread at a time.
 * <p>
 * Before adding a learner it asks the new node itself (at the client endpoint given for it)
 * whether it runs, with that id, and has not joined a cluster yet: an unreachable or mistaken
 * endpoint is refused with nothing changed.
 */
public final class AdminClient implements AutoCloseable
{
    /** Status of a call that no member answered in time. */
    public static final int NO_ANSWER = 30;
    private static final long RETRY_NS = TimeUnit.MILLISECONDS.toNanos(200);
    private static final long RESEND_NS = TimeUnit.SECONDS.toNanos(1);
    /** How much longer than the operation may take the leader's answer is awaited. */
    private static final long ANSWER_GRACE_MS = 2_000;

    private final int clusterId;
    private final List<String> endpoints;
    private final EmbeddedMediaDriver driver;
    private final Aeron aeron;
    private final Subscription subscription;
    private final String replyEndpoint;
    private final FragmentAssembler assembler = new FragmentAssembler(this::onFragment);
    private final Map<String, ExclusivePublication> publications = new HashMap<>();
    private long correlation = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 2);
    private AdminProtocol.Response received;
    private long awaited;

    /**
     * @param clusterId      the cluster
     * @param endpoints      members' client endpoints, tried in order
     * @param aeronDirectory a running media driver's directory, or null to launch an embedded one
     * @throws IllegalArgumentException if no endpoint is given or one does not parse
     */
    public AdminClient(final int clusterId, final List<String> endpoints, final String aeronDirectory)
    {
        if (endpoints.isEmpty())
        {
            throw new IllegalArgumentException("no member endpoint to send to");
        }
        endpoints.forEach(KvClient::parse);
        this.clusterId = clusterId;
        this.endpoints = List.copyOf(endpoints);
        final String replyHost = KvClient.replyHostFor(KvClient.parse(endpoints.get(0)));
        EmbeddedMediaDriver launched = null;
        Aeron client = null;
        try
        {
            launched = aeronDirectory == null ? EmbeddedMediaDriver.launch(0, 64 * 1024) : null;
            // The client's own conductor thread keeps it alive with the driver while the caller is idle between calls.
            client = Aeron.connect(new Aeron.Context().aeronDirectoryName(launched != null ? launched.aeronDirectoryName() : aeronDirectory)
                .errorHandler(ex -> System.err.println("ringraft admin: " + ex)));
            this.subscription = client.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(replyHost + ":0").build(),
                AdminProtocol.STREAM_ID);
            String resolved = subscription.resolvedEndpoint();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (resolved == null && System.nanoTime() < deadline)
            {
                LockSupport.parkNanos(100_000);
                resolved = subscription.resolvedEndpoint();
            }
            if (resolved == null)
            {
                throw new IllegalStateException("the reply subscription on " + replyHost + " got no port");
            }
            this.replyEndpoint = resolved;
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(client, launched);
            throw ex;
        }
        this.driver = launched;
        this.aeron = client;
    }

    /** @return the status of the member asked first that answers */
    public AdminProtocol.Response status(final long timeoutMs)
    {
        return call(AdminProtocol.STATUS, 0, 0, "", new long[0], timeoutMs);
    }

    /**
     * @param clientEndpoint a node's client endpoint (a member or a node waiting to join)
     * @param timeoutMs      how long to wait for its answer
     * @return that node's status, or null if it did not answer
     */
    public AdminProtocol.Response statusOf(final String clientEndpoint, final long timeoutMs)
    {
        return ask(clientEndpoint, AdminProtocol.STATUS, 0, 0, "", new long[0], timeoutMs, timeoutMs);
    }

    /**
     * Adds a learner, after checking that the node answers at its client endpoint with this id and
     * has not joined a cluster yet.
     *
     * @param node           the new node
     * @param raftEndpoint   its Raft endpoint
     * @param clientEndpoint its client endpoint
     * @param timeoutMs      how long it may take
     * @return the outcome
     */
    public AdminProtocol.Response addLearner(final long node, final String raftEndpoint, final String clientEndpoint,
        final long timeoutMs)
    {
        final long probeMs = Math.min(timeoutMs, 5_000);
        final AdminProtocol.Response probe = statusOf(clientEndpoint, probeMs);
        if (probe == null)
        {
            return refused(AdminProtocol.ADD_LEARNER, AdminStatus.INVALID, "node " + node + " does not answer at " + clientEndpoint +
                " within " + probeMs + " ms (is it running, with --join?); nothing changed");
        }
        if (probe.nodeId() != node)
        {
            return refused(AdminProtocol.ADD_LEARNER, AdminStatus.INVALID, "the node at " + clientEndpoint + " is node " + probe.nodeId() +
                ", not node " + node + "; nothing changed");
        }
        return call(AdminProtocol.ADD_LEARNER, 0, node, raftEndpoint + " " + clientEndpoint, new long[0], timeoutMs);
    }

    /**
     * @param node      a learner
     * @param wait      wait for it to catch up (within the timeout) instead of refusing at once
     * @param timeoutMs how long it may take
     * @return the outcome
     */
    public AdminProtocol.Response promote(final long node, final boolean wait, final long timeoutMs)
    {
        return call(AdminProtocol.PROMOTE, wait ? AdminProtocol.FLAG_WAIT : 0, node, "", new long[0], timeoutMs);
    }

    /**
     * @param voters    the new voter set (members already)
     * @param wait      wait for new voters to catch up (within the timeout) instead of refusing at once
     * @param timeoutMs how long it may take
     * @return the outcome
     */
    public AdminProtocol.Response changeVoters(final long[] voters, final boolean wait, final long timeoutMs)
    {
        return call(AdminProtocol.CHANGE_VOTERS, wait ? AdminProtocol.FLAG_WAIT : 0, 0, "", voters.clone(), timeoutMs);
    }

    /**
     * @param node      a learner or a voter; removing the leader hands leadership over first
     * @param timeoutMs how long it may take
     * @return the outcome
     */
    public AdminProtocol.Response remove(final long node, final long timeoutMs)
    {
        return call(AdminProtocol.REMOVE, 0, node, "", new long[0], timeoutMs);
    }

    /**
     * @param node      a voter to hand leadership to
     * @param timeoutMs how long it may take
     * @return the outcome
     */
    public AdminProtocol.Response transfer(final long node, final long timeoutMs)
    {
        return call(AdminProtocol.TRANSFER, 0, node, "", new long[0], timeoutMs);
    }

    /**
     * @param timeoutMs how long it may take
     * @return the outcome: a snapshot on the first member that answers
     */
    public AdminProtocol.Response snapshot(final long timeoutMs)
    {
        return call(AdminProtocol.SNAPSHOT, 0, 0, "", new long[0], timeoutMs);
    }

    private AdminProtocol.Response refused(final byte op, final int status, final String message)
    {
        return new AdminProtocol.Response(op, clusterId, 0, status, 0, 0, 0, "", message);
    }

    /**
     * A status or snapshot goes to the first member that answers. A change first finds the leader
     * (asking the members in turn for their status), then goes to it alone with the time left, and
     * follows it if leadership moves: a change is never sent to two members at once.
     */
    private AdminProtocol.Response call(final byte op, final int flags, final long node, final String endpoint, final long[] voters,
        final long timeoutMs)
    {
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
                final String target = endpoints.get(next++ % endpoints.size());
                final long waitMs = op == AdminProtocol.SNAPSHOT ? remainingMs : Math.min(remainingMs, 1_000);
                final AdminProtocol.Response r = ask(target, local ? op : AdminProtocol.STATUS, 0, 0, "", new long[0], waitMs, waitMs);
                if (r == null)
                {
                    lastProblem = "no answer from " + target;
                }
                else if (local)
                {
                    return r;
                }
                else if (r.nodeId() == r.leaderId())
                {
                    leader = target;
                    continue;
                }
                else if (!r.leaderEndpoint().isEmpty())
                {
                    leader = r.leaderEndpoint();
                    continue;
                }
                else
                {
                    lastProblem = "node " + r.nodeId() + " knows no leader";
                    LockSupport.parkNanos(RETRY_NS);
                }
                continue;
            }
            final AdminProtocol.Response r = ask(leader, op, flags, node, endpoint, voters, remainingMs, remainingMs + ANSWER_GRACE_MS);
            if (r == null)
            {
                return refused(op, NO_ANSWER, "no answer from the leader at " + leader + " within " + (remainingMs + ANSWER_GRACE_MS) +
                    " ms; the change may or may not have happened");
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
                LockSupport.parkNanos(RETRY_NS);
                continue;
            }
            return r;
        }
        return refused(op, NO_ANSWER, lastProblem + " within " + timeoutMs + " ms");
    }

    /** Sends one request to one endpoint and waits up to {@code waitMs} for its answer, resending a status while unanswered. */
    private AdminProtocol.Response ask(final String target, final byte op, final int flags, final long node, final String endpoint,
        final long[] voters, final long timeoutMs, final long waitMs)
    {
        final ExclusivePublication publication;
        try
        {
            publication = publication(target);
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
        final long id = ++correlation;
        final byte[] request = new AdminProtocol.Request(op, flags, clusterId, id, node, timeoutMs, replyEndpoint, endpoint, voters)
            .encode();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        awaited = id;
        received = null;
        boolean sent = false;
        long sentAt = 0;
        while (System.nanoTime() < deadline)
        {
            // A status is resent until answered; a change is sent once (a second copy could be
            // taken for a new request once the first completed).
            if (!sent || (op == AdminProtocol.STATUS && System.nanoTime() - sentAt > RESEND_NS))
            {
                if (publication.offer(new UnsafeBuffer(request)) > 0)
                {
                    sent = true;
                    sentAt = System.nanoTime();
                }
            }
            subscription.poll(assembler, 10);
            if (received != null)
            {
                return received;
            }
            LockSupport.parkNanos(200_000);
        }
        return null;
    }

    private ExclusivePublication publication(final String endpoint)
    {
        ExclusivePublication publication = publications.get(endpoint);
        if (publication == null)
        {
            publication = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp").endpoint(endpoint)
                .termLength(64 * 1024).sparse(true).build(), AdminProtocol.STREAM_ID);
            publications.put(endpoint, publication);
        }
        return publication;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final AdminProtocol.Response r = AdminProtocol.Response.decode(buffer, offset, length);
        if (r != null && r.correlation() == awaited && (clusterId == 0 || r.clusterId() == clusterId))
        {
            received = r;
        }
    }

    @Override
    public void close()
    {
        publications.values().forEach(CloseHelper::quietClose);
        CloseHelper.quietCloseAll(subscription, aeron, driver);
    }
}
