package io.ringraft.server.admin;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.AdminResult;
import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.Raft;
import io.ringraft.RaftMetrics;
import io.ringraft.Vote;
import io.ringraft.client.AdminProtocol;
import io.ringraft.client.MemberStatus;
import io.ringraft.engine.Role;
import io.ringraft.server.MemberEndpoints;
import io.ringraft.transport.aeron.AeronClientWatch;
import io.ringraft.transport.aeron.ClientAuth;
import io.ringraft.transport.aeron.PublicationChannels;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.AgentTerminationException;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;

/**
 * A member's end of the {@linkplain AdminProtocol admin protocol}: an {@link Agent} that takes
 * requests on the member's client endpoint, runs them on the {@link Raft} node when it leads (or
 * answers {@link AdminProtocol#REDIRECT} to the leader), and answers each request once.
 * <p>
 * The rails it adds to the engine's (one change at a time, new voters catch up first): it
 * refuses to promote a learner that lags the commit index by {@link AdminProtocol#CATCH_UP_SLACK}
 * entries unless asked to wait ({@link AdminProtocol#FLAG_WAIT}), refuses to remove the last voter,
 * and removes the leader by handing leadership to the most advanced remaining voter first, then
 * redirecting the request to it.
 */
public final class AdminService implements Agent, AutoCloseable
{
    private static final long REPLY_DEADLINE_NS = TimeUnit.SECONDS.toNanos(10);
    private static final long IDLE_PUBLICATION_NS = TimeUnit.SECONDS.toNanos(60);

    private final Raft raft;
    private final long nodeId;
    private final AeronClientWatch clientWatch;
    private final int clusterId;
    private final Map<Long, String> configClientEndpoints;
    private final int termLength;
    private final Aeron aeron;
    private final AgentInvoker conductor;
    private final Subscription subscription;
    private final FragmentAssembler assembler = new FragmentAssembler(this::onFragment);
    private final ManyToOneConcurrentArrayQueue<Runnable> completions = new ManyToOneConcurrentArrayQueue<>(1024);
    private final Map<String, Reply> replies = new HashMap<>();
    private final ClientAuth auth;
    // The client that signed a request being handled, until it is answered (unsigned requests are absent).
    private final Map<AdminProtocol.Request, Long> signers = new IdentityHashMap<>();
    private long malformed;
    private long forbidden;

    /** A reply publication and the responses waiting for it to connect. */
    private static final class Reply
    {
        final ExclusivePublication publication;
        final ClientAuth.ReplyStream stream;
        final ArrayDeque<byte[]> backlog = new ArrayDeque<>();
        long firstWaitingNs;
        long lastUsedNs = System.nanoTime();

        Reply(final ExclusivePublication publication, final ClientAuth.ReplyStream stream)
        {
            this.publication = publication;
            this.stream = stream;
        }
    }

    /**
     * @param raft                  the node
     * @param clusterId             requests naming another cluster id (other than 0, any) are refused
     * @param listen                the member's client endpoint
     * @param configClientEndpoints client endpoints from the config, used when the membership carries none
     * @param aeronDirectory        the media driver's directory
     * @param termLength            of the reply publications
     */
    public AdminService(final Raft raft, final int clusterId, final String listen, final Map<Long, String> configClientEndpoints,
        final String aeronDirectory, final int termLength)
    {
        this(raft, clusterId, listen, configClientEndpoints, aeronDirectory, termLength,
            ClientAuth.node("ringraft node " + raft.nodeId() + " admin", raft.nodeId(), null, false, System.err::println));
    }

    /**
     * @param raft                  the node
     * @param clusterId             requests naming another cluster id (other than 0, any) are refused
     * @param listen                the member's client endpoint
     * @param configClientEndpoints client endpoints from the config, used when the membership carries none
     * @param aeronDirectory        the media driver's directory
     * @param termLength            of the reply publications
     * @param auth                  the gate of every request (the client protocol's credentials): signed requests are
     *                              answered signed, and only clients marked admin in the credentials may change anything
     */
    public AdminService(final Raft raft, final int clusterId, final String listen, final Map<Long, String> configClientEndpoints,
        final String aeronDirectory, final int termLength, final ClientAuth auth)
    {
        this.auth = auth;
        this.raft = raft;
        this.nodeId = raft.nodeId();
        this.clusterId = clusterId;
        this.configClientEndpoints = Map.copyOf(configClientEndpoints);
        this.termLength = termLength;
        this.clientWatch = new AeronClientWatch("ringraft node " + nodeId + " admin", System.err::println);
        this.aeron = Aeron.connect(clientWatch.watch(new Aeron.Context().aeronDirectoryName(aeronDirectory).useConductorAgentInvoker(true)));
        this.conductor = aeron.conductorAgentInvoker();
        try
        {
            this.subscription = aeron.addSubscription(new ChannelUriStringBuilder().media("udp").endpoint(listen).build(),
                AdminProtocol.STREAM_ID);
        }
        catch (final RuntimeException ex)
        {
            aeron.close();
            throw ex;
        }
    }

    @Override
    public String roleName()
    {
        return "ringraft-admin-" + nodeId;
    }

    /** @return frames on the admin stream that were not valid requests, or were for another cluster */
    public long malformed()
    {
        return malformed;
    }

    /** @return authentic requests to change something from clients not marked admin in the credentials */
    public long forbidden()
    {
        return forbidden;
    }

    /** @return the authentication gate, with its counters of refused frames */
    public ClientAuth auth()
    {
        return auth;
    }

    @Override
    public int doWork()
    {
        final Throwable stopped = clientWatch.failure();
        if (stopped != null)
        {
            // Its owner (RingraftNode) stops the node: a member that cannot be administered must not go on half-running.
            throw new AgentTerminationException("ringraft node " + nodeId + " admin: the Aeron client stopped (" + stopped + ")", stopped);
        }
        int work = conductor.invoke();
        work += subscription.poll(assembler, 16);
        Runnable completion;
        while ((completion = completions.poll()) != null)
        {
            completion.run();
            work++;
        }
        work += drainReplies();
        return work;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int frameLength, final Header header)
    {
        // The gate: nothing of a frame is looked at or answered before it passes (refusals counted in auth()).
        final int length = auth.admit(buffer, offset, frameLength, AdminProtocol.isSigned(buffer, offset, frameLength));
        if (length < 0)
        {
            return;
        }
        final long signer = auth.principal();
        final AdminProtocol.Request request = AdminProtocol.Request.decode(buffer, offset, length);
        if (request == null || !validReplyEndpoint(request.replyEndpoint()))
        {
            malformed++;
            return;
        }
        if (signer != 0)
        {
            signers.put(request, signer);
            if (request.op() != AdminProtocol.STATUS && !auth.isAdmin(signer))
            {
                forbidden++;
                respond(request, AdminProtocol.BAD_REQUEST, 0, "client " + signer + " may not change the cluster (its credentials " +
                    "do not say client." + signer + ".admin = true)");
                return;
            }
        }
        if (request.clusterId() != 0 && request.clusterId() != clusterId)
        {
            malformed++;
            respond(request, AdminProtocol.BAD_REQUEST, 0, "request for cluster " + request.clusterId() + " reached node " + nodeId +
                " of cluster " + clusterId);
            return;
        }
        handle(request);
    }

    private static boolean validReplyEndpoint(final String endpoint)
    {
        final int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1)
        {
            return false;
        }
        try
        {
            final int port = Integer.parseInt(endpoint.substring(colon + 1));
            return port > 0 && port < 65536;
        }
        catch (final NumberFormatException ex)
        {
            return false;
        }
    }

    private void handle(final AdminProtocol.Request r)
    {
        final Duration timeout = Duration.ofMillis(Math.max(1, r.timeoutMs()));
        switch (r.op())
        {
            case AdminProtocol.STATUS:
            {
                final RaftMetrics m = raft.metrics();
                respond(r, AdminStatus.OK, m.committedIndex(), status(m), new MemberStatus(nodeId, m.role().name(), m.term(),
                    m.leaderId(), m.committedIndex(), m.appliedIndex(), m.membership(), m.matchIndex()));
                return;
            }
            case AdminProtocol.SNAPSHOT:
                raft.triggerSnapshot().whenComplete((meta, error) -> completions.offer(() -> respond(r,
                    error == null ? AdminStatus.OK : AdminStatus.INVALID, error == null ? meta.lastIncluded().index() : 0,
                    error == null ? "snapshot of node " + nodeId + " up to index " + meta.lastIncluded().index() :
                    "snapshot failed: " + error.getMessage())));
                return;
            default:
                break;
        }
        if (raft.role() != Role.LEADER)
        {
            redirect(r, raft.leaderId());
            return;
        }
        final RaftMetrics metrics = raft.metrics();
        final Membership m = metrics.membership();
        switch (r.op())
        {
            case AdminProtocol.ADD_LEARNER:
                if (r.node() <= 0 || r.endpoint().isBlank())
                {
                    respond(r, AdminProtocol.BAD_REQUEST, 0, "add-learner needs a node id > 0 and its endpoints");
                    return;
                }
                complete(r, raft.addLearner(r.node(), r.endpoint().trim(), timeout));
                return;
            case AdminProtocol.PROMOTE:
                if (!m.isLearner(r.node()))
                {
                    respond(r, AdminStatus.INVALID, 0, "node " + r.node() + (m.isVoter(r.node()) ? " is a voter already" :
                        " is not a member: add it as a learner first") + "; nothing changed");
                    return;
                }
                changeVoters(r, LongStream.concat(LongStream.of(m.voters()), LongStream.of(r.node())).toArray(), metrics, timeout);
                return;
            case AdminProtocol.CHANGE_VOTERS:
                changeVoters(r, r.voters(), metrics, timeout);
                return;
            case AdminProtocol.REMOVE:
                remove(r, metrics, timeout);
                return;
            case AdminProtocol.TRANSFER:
                complete(r, raft.transferLeader(r.node(), timeout));
                return;
            default:
                respond(r, AdminProtocol.BAD_REQUEST, 0, "unknown operation " + r.op());
        }
    }

    private void changeVoters(final AdminProtocol.Request r, final long[] voters, final RaftMetrics metrics, final Duration timeout)
    {
        final Membership m = metrics.membership();
        if (voters.length == 0)
        {
            respond(r, AdminStatus.INVALID, 0, "the new voter set is empty; nothing changed");
            return;
        }
        if ((r.flags() & AdminProtocol.FLAG_WAIT) == 0)
        {
            for (final long node : voters)
            {
                if (m.isLearner(node))
                {
                    final long matched = metrics.matchIndex().getOrDefault(node, 0L);
                    if (!AdminProtocol.caughtUp(matched, metrics.committedIndex()))
                    {
                        respond(r, AdminProtocol.NOT_CAUGHT_UP, 0, "node " + node + " has not caught up: it holds the log up to " +
                            matched + ", the leader has committed " + metrics.committedIndex() + "; nothing changed (--wait DURATION waits " +
                            "for it)");
                        return;
                    }
                }
            }
        }
        complete(r, raft.changeMembership(voters, false, timeout));
    }

    private void remove(final AdminProtocol.Request r, final RaftMetrics metrics, final Duration timeout)
    {
        final Membership m = metrics.membership();
        final long node = r.node();
        if (m.isLearner(node))
        {
            complete(r, raft.removeLearner(node, timeout));
            return;
        }
        if (!m.isVoter(node))
        {
            respond(r, AdminStatus.INVALID, 0, "node " + node + " is not a member of " + m + "; nothing changed");
            return;
        }
        if (m.isJoint())
        {
            respond(r, AdminStatus.IN_PROGRESS, 0, "a membership change is in flight (" + m + "); nothing changed");
            return;
        }
        final long[] remaining = LongStream.of(m.voters()).filter(n -> n != node).toArray();
        if (remaining.length == 0)
        {
            respond(r, AdminStatus.INVALID, 0, "node " + node + " is the last voter: removing it would leave no one to decide; " +
                "nothing changed");
            return;
        }
        if (node != nodeId)
        {
            complete(r, raft.changeMembership(remaining, false, timeout));
            return;
        }
        // The leader itself: hand leadership to the most advanced remaining voter, which then runs the removal.
        final long successor = LongStream.of(remaining).boxed()
            .max((a, b) -> Long.compare(metrics.matchIndex().getOrDefault(a, 0L), metrics.matchIndex().getOrDefault(b, 0L)))
            .orElseThrow();
        raft.transferLeader(successor, timeout).whenComplete((result, error) -> completions.offer(() ->
        {
            if (result != null && result.isOk())
            {
                redirect(r, successor);
            }
            else
            {
                respond(r, result != null ? result.status() : AdminStatus.SHUT_DOWN, 0, "handing leadership to node " + successor +
                    " before removing node " + node + " failed: " + (result != null ? result.message() : error) + "; nothing changed");
            }
        }));
    }

    private void complete(final AdminProtocol.Request r, final CompletableFuture<AdminResult> future)
    {
        future.whenComplete((result, error) -> completions.offer(() ->
        {
            if (result == null)
            {
                respond(r, AdminStatus.SHUT_DOWN, 0, String.valueOf(error));
            }
            else if (result.status() == AdminStatus.NOT_LEADER)
            {
                redirect(r, result.leaderId());
            }
            else
            {
                respond(r, result.status(), result.index(), result.message() == null ? "done" : result.message());
            }
        }));
    }

    private String status(final RaftMetrics m)
    {
        final Membership membership = m.membership();
        return "node " + nodeId + " " + m.role() + " term " + m.term() + " leader " + m.leaderId() + " commit " + m.committedIndex() +
            " applied " + m.appliedIndex() + " " + (membership == null ? "joining (no membership yet)" : membership + " endpoints " +
            membership.endpoints()) + (m.matchIndex().isEmpty() ? "" : " match " + m.matchIndex());
    }

    private void redirect(final AdminProtocol.Request r, final long leaderId)
    {
        if (leaderId == Vote.NO_NODE || leaderId == nodeId)
        {
            respond(r, AdminProtocol.NO_LEADER, 0, "node " + nodeId + " knows no leader");
            return;
        }
        final String endpoint = leaderClientEndpoint(leaderId);
        if (endpoint == null)
        {
            respond(r, AdminProtocol.NO_LEADER, 0, "node " + nodeId + " knows no client endpoint of leader " + leaderId);
            return;
        }
        send(r, new AdminProtocol.Response(r.op(), clusterId, r.correlation(), AdminProtocol.REDIRECT, nodeId, leaderId,
            0, endpoint, "node " + leaderId + " leads", null).encode());
    }

    private String leaderClientEndpoint(final long leaderId)
    {
        final String fromLog = MemberEndpoints.clientEndpoint(raft.metrics().membership(), leaderId);
        return fromLog != null ? fromLog : configClientEndpoints.get(leaderId);
    }

    private void respond(final AdminProtocol.Request r, final int status, final long index, final String message)
    {
        respond(r, status, index, message, null);
    }

    private void respond(final AdminProtocol.Request r, final int status, final long index, final String message, final MemberStatus view)
    {
        final long leaderId = raft.leaderId();
        final String leaderEndpoint = leaderId == Vote.NO_NODE ? null : leaderClientEndpoint(leaderId);
        send(r, new AdminProtocol.Response(r.op(), clusterId, r.correlation(), status, nodeId, leaderId, index,
            leaderEndpoint == null ? "" : leaderEndpoint, message, view).encode());
    }

    /** Answers a request on its reply endpoint, signed with its client's key if it was signed. */
    private void send(final AdminProtocol.Request r, final byte[] unsigned)
    {
        final String endpoint = r.replyEndpoint();
        final Long signer = signers.remove(r);
        final long client = signer == null ? 0 : signer;
        final String key = endpoint + "#" + client;
        Reply reply = replies.get(key);
        if (reply == null)
        {
            try
            {
                reply = new Reply(aeron.addExclusivePublication(PublicationChannels.udp(endpoint, termLength, PublicationChannels.MTU_AUTO),
                    AdminProtocol.STREAM_ID), auth.newStream(client));
            }
            catch (final RuntimeException ex)
            {
                System.err.println("ringraft node " + nodeId + " admin: cannot reply to " + endpoint + ": " + ex.getMessage());
                return;
            }
            replies.put(key, reply);
        }
        byte[] response = unsigned;
        if (client != 0)
        {
            AdminProtocol.markSigned(unsigned);
            response = auth.sign(unsigned, reply.stream);
            if (response == null)
            {
                return; // the client's key was withdrawn from the credentials meanwhile
            }
        }
        if (reply.backlog.isEmpty())
        {
            reply.firstWaitingNs = System.nanoTime();
        }
        reply.backlog.addLast(response);
        drain(reply);
    }

    private int drainReplies()
    {
        int work = 0;
        final long now = System.nanoTime();
        final Iterator<Reply> it = replies.values().iterator();
        while (it.hasNext())
        {
            final Reply reply = it.next();
            work += drain(reply);
            if (!reply.backlog.isEmpty() && now - reply.firstWaitingNs > REPLY_DEADLINE_NS)
            {
                reply.backlog.clear(); // the caller went away
            }
            if (reply.backlog.isEmpty() && now - reply.lastUsedNs > IDLE_PUBLICATION_NS)
            {
                reply.publication.close();
                it.remove();
            }
        }
        return work;
    }

    private static int drain(final Reply reply)
    {
        int sent = 0;
        while (!reply.backlog.isEmpty())
        {
            final byte[] bytes = reply.backlog.peekFirst();
            if (reply.publication.offer(new UnsafeBuffer(bytes)) < 0)
            {
                break;
            }
            reply.backlog.pollFirst();
            reply.lastUsedNs = System.nanoTime();
            reply.firstWaitingNs = reply.lastUsedNs;
            sent++;
        }
        return sent;
    }

    @Override
    public void onClose()
    {
        close();
    }

    /** @return the service's own Aeron client: for tests */
    public Aeron aeron()
    {
        return aeron;
    }

    /** Closes the reply publications, the subscription and the Aeron client. Idempotent. */
    @Override
    public void close()
    {
        clientWatch.ownerCloses();
        if (aeron.isClosed())
        {
            replies.values().forEach(reply -> CloseHelper.quietClose(reply.publication));
            replies.clear();
            CloseHelper.quietClose(subscription);
            return;
        }
        replies.values().forEach(reply -> CloseHelper.quietClose(reply.publication));
        replies.clear();
        CloseHelper.quietCloseAll(subscription, aeron);
    }

    @Override
    public String toString()
    {
        return "AdminService{node=" + nodeId + " " + Arrays.toString(replies.keySet().toArray()) + "}";
    }
}
