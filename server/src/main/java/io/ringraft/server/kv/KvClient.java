package io.ringraft.server.kv;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.Header;
import io.ringraft.transport.aeron.EmbeddedMediaDriver;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A client of the example key-value service over Aeron UDP. Single-threaded: the thread that
 * submits also calls {@link #poll()}, which sends, receives, retries and times out; answers reach
 * each request's handler from inside {@link #poll()}, exactly once.
 * <p>
 * Any member can take a request: the client follows {@link KvProtocol#REDIRECT}s to the leader
 * (and keeps sending there), retries {@link KvProtocol#NO_LEADER}, {@link KvProtocol#BUSY} and
 * {@link KvProtocol#ABORTED} (nothing was written) on the next known node, and moves on to the
 * next node when the current one does not connect. A request that gets no final answer within the
 * timeout ends with {@link KvProtocol#NO_ANSWER}: for a write, its outcome is unknown. The client
 * never resends a request that a node may have accepted.
 */
public final class KvClient implements AutoCloseable
{
    /** Receives a request's final answer. */
    @FunctionalInterface
    public interface ResponseHandler
    {
        /**
         * @param requestId the id {@link #submit} returned
         * @param response  the answer
         */
        void onResponse(long requestId, KvResponse response);
    }

    /** Settings of a {@link KvClient}. */
    public static final class Context
    {
        private final List<String> endpoints = new ArrayList<>();
        private int clusterId;
        private long timeoutNs = TimeUnit.SECONDS.toNanos(3);
        private long retryDelayNs = TimeUnit.MILLISECONDS.toNanos(20);
        private long connectWaitNs = TimeUnit.MILLISECONDS.toNanos(300);
        private String aeronDirectory;
        private int termLength = 256 * 1024;

        /** @param endpoint a member's client endpoint "host:port"; the first is tried first */
        public Context endpoint(final String endpoint)
        {
            endpoints.add(endpoint);
            return this;
        }

        /** @param endpoints members' client endpoints; the first is tried first */
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

        /** @param timeout how long a request may take, redirects and retries included */
        public Context timeout(final long timeout, final TimeUnit unit)
        {
            this.timeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @param dir the directory of a running media driver to use; null (the default) launches an embedded one */
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
    }

    private final Context ctx;
    private final long sessionId = ThreadLocalRandom.current().nextLong() | 1L;
    private final EmbeddedMediaDriver driver;
    private final Aeron aeron;
    private final AgentInvoker conductor;
    private final Subscription subscription;
    private final byte[] replyEndpoint;
    private final FragmentAssembler assembler;
    private final Map<String, Target> targets = new LinkedHashMap<>();
    private final Long2ObjectHashMap<Pending> inFlight = new Long2ObjectHashMap<>();
    private final ArrayDeque<Pending> toSend = new ArrayDeque<>();
    private final ExpandableArrayBuffer encodeBuffer = new ExpandableArrayBuffer(1024);
    private Target preferred;
    private long nextRequestId = 1;
    private long lastTimeoutScanNs;

    /**
     * Connects: launches an embedded media driver unless one is configured, and opens the reply
     * subscription.
     *
     * @param ctx the settings; at least one endpoint
     * @throws IllegalArgumentException if no endpoint is given or one does not parse or resolve
     */
    public KvClient(final Context ctx)
    {
        if (ctx.endpoints.isEmpty())
        {
            throw new IllegalArgumentException("no endpoint to send to");
        }
        this.ctx = ctx;
        final InetSocketAddress first = parse(ctx.endpoints.get(0));
        final String replyHost = replyHostFor(first);
        EmbeddedMediaDriver launched = null;
        Aeron client = null;
        try
        {
            launched = ctx.aeronDirectory == null ? EmbeddedMediaDriver.launch(0, ctx.termLength) : null;
            client = Aeron.connect(new Aeron.Context()
                .aeronDirectoryName(launched != null ? launched.aeronDirectoryName() : ctx.aeronDirectory)
                .useConductorAgentInvoker(true)
                .errorHandler(ex -> System.err.println("ringraft kv client: " + ex)));
            this.conductor = client.conductorAgentInvoker();
            this.subscription = client.addSubscription(
                new ChannelUriStringBuilder().media("udp").endpoint(replyHost + ":0").build(), KvProtocol.STREAM_ID);
            String resolved = subscription.resolvedEndpoint();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (resolved == null && System.nanoTime() < deadline)
            {
                conductor.invoke();
                LockSupport.parkNanos(100_000);
                resolved = subscription.resolvedEndpoint();
            }
            if (resolved == null)
            {
                throw new IllegalStateException("the reply subscription on " + replyHost + " got no port");
            }
            this.replyEndpoint = KvProtocol.utf8(resolved);
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.quietCloseAll(client, launched);
            throw ex;
        }
        this.driver = launched;
        this.aeron = client;
        this.assembler = new FragmentAssembler(this::onFragment);
        for (final String endpoint : ctx.endpoints)
        {
            target(endpoint);
        }
        preferred = targets.get(ctx.endpoints.get(0));
    }

    /**
     * Submits a request to the node believed to lead (or the first endpoint).
     *
     * @param op           {@link KvProtocol#PUT}, {@link KvProtocol#GET}, {@link KvProtocol#DELETE} or {@link KvProtocol#CAS}
     * @param key          the key
     * @param value        the new value of a PUT or CAS, else null
     * @param expected     the expected value of a CAS (null = absent), else null
     * @param linearizable for a GET: read after a linearizable read barrier
     * @param handler      receives the answer from inside {@link #poll()}
     * @return the request id
     */
    public long submit(final byte op, final String key, final byte[] value, final byte[] expected, final boolean linearizable,
        final ResponseHandler handler)
    {
        return enqueue(op, key, value, expected, linearizable, handler, preferred, false);
    }

    /**
     * Asks one node for its {@link KvNodeStatus}, without redirects or retries elsewhere.
     *
     * @param endpoint the node's client endpoint
     * @param handler  receives the answer; decode it with {@link KvNodeStatus#of(KvResponse)}
     * @return the request id
     */
    public long submitStatus(final String endpoint, final ResponseHandler handler)
    {
        return enqueue(KvProtocol.STATUS, "", null, null, false, handler, target(endpoint), true);
    }

    /**
     * Does one round of the client's work: sends what is due, delivers answers, follows
     * redirects, retries and times out.
     *
     * @return the work done
     */
    public int poll()
    {
        int work = conductor.invoke();
        work += subscription.poll(assembler, 256);
        final long now = System.nanoTime();
        final int due = toSend.size();
        for (int i = 0; i < due; i++)
        {
            final Pending p = toSend.pollFirst();
            if (!trySend(p, now))
            {
                toSend.addLast(p);
            }
            else
            {
                work++;
            }
        }
        if (now - lastTimeoutScanNs > 1_000_000L)
        {
            lastTimeoutScanNs = now;
            work += expire(now);
        }
        return work;
    }

    /**
     * Sends a request and waits for its answer, polling.
     *
     * @return the answer (never null: {@link KvProtocol#NO_ANSWER} after the timeout)
     */
    public KvResponse call(final byte op, final String key, final byte[] value, final byte[] expected, final boolean linearizable)
    {
        final KvResponse[] answer = new KvResponse[1];
        submit(op, key, value, expected, linearizable, (id, r) -> answer[0] = r);
        return await(answer);
    }

    /**
     * Asks one node for its status and waits for the answer.
     *
     * @param endpoint the node's client endpoint
     * @return its status, or null if it did not answer within the timeout
     */
    public KvNodeStatus status(final String endpoint)
    {
        final KvResponse[] answer = new KvResponse[1];
        submitStatus(endpoint, (id, r) -> answer[0] = r);
        return KvNodeStatus.of(await(answer));
    }

    /** @return how many requests await their answer */
    public int pending()
    {
        return inFlight.size() + toSend.size();
    }

    /** @return the client endpoint requests go to first (the leader once a redirect named it) */
    public String preferredEndpoint()
    {
        return preferred.endpoint;
    }

    /** Closes the publications, the subscription, the Aeron client and an embedded driver; pending requests get no answer. */
    @Override
    public void close()
    {
        for (final Target target : targets.values())
        {
            CloseHelper.quietClose(target.publication);
        }
        CloseHelper.quietCloseAll(subscription, aeron, driver);
    }

    private KvResponse await(final KvResponse[] answer)
    {
        while (answer[0] == null)
        {
            if (poll() == 0)
            {
                LockSupport.parkNanos(50_000);
            }
        }
        return answer[0];
    }

    private long enqueue(final byte op, final String key, final byte[] value, final byte[] expected, final boolean linearizable,
        final ResponseHandler handler, final Target target, final boolean pinned)
    {
        final long requestId = nextRequestId++;
        final int limit = ctx.termLength / 8;
        final int estimate = KvProtocol.REQUEST_HEADER + 12 + replyEndpoint.length + KvProtocol.utf8(key).length +
            (value == null ? 0 : value.length) + (expected == null ? 0 : expected.length);
        if (estimate > limit)
        {
            final long now = System.nanoTime();
            handler.onResponse(requestId, new KvResponse(KvProtocol.BAD_REQUEST, 0, null, "request of " + estimate +
                " bytes exceeds the largest message of " + limit + " bytes", target.endpoint, 0, now, now));
            return requestId;
        }
        final int length = KvProtocol.encodeRequest(encodeBuffer, op, linearizable ? KvProtocol.FLAG_LINEARIZABLE : 0, ctx.clusterId,
            sessionId, requestId, replyEndpoint, KvProtocol.utf8(key), value, expected);
        final byte[] bytes = new byte[length];
        encodeBuffer.getBytes(0, bytes);
        final long now = System.nanoTime();
        final Pending p = new Pending(requestId, bytes, handler, target, pinned, now, now + ctx.timeoutNs);
        inFlight.put(requestId, p);
        if (!trySend(p, now))
        {
            toSend.addLast(p);
        }
        return requestId;
    }

    /** @return true if the request left (or was answered); false to try again later */
    private boolean trySend(final Pending p, final long now)
    {
        if (p.done)
        {
            return true;
        }
        if (now < p.notBeforeNs)
        {
            return false;
        }
        final Target target = p.target;
        final ExclusivePublication publication = target.publication();
        if (publication == null || !publication.isConnected())
        {
            if (!p.pinned && now - target.since > ctx.connectWaitNs && targets.size() > 1)
            {
                // Not reachable (yet): try the next node; the client comes back to this one in turn.
                p.target = next(target);
                p.target.touch(now);
                p.redirects++;
                if (preferred == target)
                {
                    preferred = p.target;
                }
            }
            return false;
        }
        final long result = publication.offer(new UnsafeBuffer(p.bytes), 0, p.bytes.length);
        if (result > 0)
        {
            p.sent = true;
            return true;
        }
        if (result == Publication.CLOSED || result == Publication.MAX_POSITION_EXCEEDED)
        {
            target.reset();
        }
        return false;
    }

    private int expire(final long now)
    {
        int expired = 0;
        final Iterator<Pending> it = inFlight.values().iterator();
        List<Pending> timedOut = null;
        while (it.hasNext())
        {
            final Pending p = it.next();
            if (now - p.deadlineNs >= 0)
            {
                if (timedOut == null)
                {
                    timedOut = new ArrayList<>();
                }
                timedOut.add(p);
            }
        }
        if (timedOut != null)
        {
            for (final Pending p : timedOut)
            {
                final String why = p.sent ? "no answer from " + p.target.endpoint : p.target.endpoint + " is not reachable";
                complete(p, new KvResponse(KvProtocol.NO_ANSWER, 0, null, why + " within " +
                    TimeUnit.NANOSECONDS.toMillis(ctx.timeoutNs) + " ms", p.target.endpoint, p.redirects, p.submittedNs, now));
                if (!p.pinned && preferred == p.target && targets.size() > 1)
                {
                    preferred = next(p.target);
                    preferred.touch(now);
                }
                expired++;
            }
        }
        return expired;
    }

    private void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        final KvProtocol.Response r = KvProtocol.Response.decode(buffer, offset, length);
        if (r == null || r.sessionId() != sessionId)
        {
            return;
        }
        final Pending p = inFlight.get(r.requestId());
        if (p == null || p.done || !p.sent)
        {
            return;
        }
        final long now = System.nanoTime();
        switch (r.status())
        {
            case KvProtocol.REDIRECT:
                if (p.pinned || p.redirects >= 16)
                {
                    complete(p, new KvResponse(KvProtocol.NO_ANSWER, 0, null, "redirected " + p.redirects + " times, last to " +
                        r.text(), p.target.endpoint, p.redirects, p.submittedNs, now));
                }
                else
                {
                    final Target leader = target(r.text());
                    preferred = leader;
                    retry(p, leader, now, 0);
                }
                break;
            case KvProtocol.NO_LEADER:
            case KvProtocol.ABORTED:
                retry(p, p.pinned ? p.target : next(p.target), now, ctx.retryDelayNs);
                break;
            case KvProtocol.BUSY:
                retry(p, p.target, now, ctx.retryDelayNs);
                break;
            default:
                complete(p, new KvResponse(r.status(), r.index(), r.value(), r.text(), p.target.endpoint, p.redirects, p.submittedNs, now));
                break;
        }
    }

    private void retry(final Pending p, final Target target, final long now, final long delayNs)
    {
        p.sent = false;
        p.redirects++;
        p.target = target;
        target.touch(now);
        p.notBeforeNs = now + delayNs;
        if (!trySend(p, now))
        {
            toSend.addLast(p);
        }
    }

    private void complete(final Pending p, final KvResponse response)
    {
        p.done = true;
        inFlight.remove(p.requestId);
        p.handler.onResponse(p.requestId, response);
    }

    private Target next(final Target current)
    {
        final List<Target> all = new ArrayList<>(targets.values());
        final int i = all.indexOf(current);
        return all.get((i + 1) % all.size());
    }

    private Target target(final String endpoint)
    {
        Target target = targets.get(endpoint);
        if (target == null)
        {
            parse(endpoint);
            target = new Target(endpoint);
            targets.put(endpoint, target);
        }
        return target;
    }

    /**
     * @param endpoint host:port
     * @return the resolved address
     * @throws IllegalArgumentException if it does not parse or resolve
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

    /** A node's client endpoint and the publication to it, created on first use. */
    private final class Target
    {
        final String endpoint;
        ExclusivePublication publication;
        long since = System.nanoTime();
        long retryCreateAtNs;

        Target(final String endpoint)
        {
            this.endpoint = endpoint;
        }

        /** @return the publication, or null while it cannot be created (e.g. a redirect named a host this machine cannot resolve) */
        ExclusivePublication publication()
        {
            final long now = System.nanoTime();
            if (publication == null && now - retryCreateAtNs >= 0)
            {
                try
                {
                    publication = aeron.addExclusivePublication(new ChannelUriStringBuilder().media("udp").endpoint(endpoint)
                        .termLength(ctx.termLength).sparse(true).build(), KvProtocol.STREAM_ID);
                    since = now;
                }
                catch (final RuntimeException ex)
                {
                    retryCreateAtNs = now + TimeUnit.SECONDS.toNanos(1);
                    System.err.println("ringraft kv client: cannot send to " + endpoint + ": " + ex.getMessage());
                }
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

    /** One request until its final answer. */
    private static final class Pending
    {
        final long requestId;
        final byte[] bytes;
        final ResponseHandler handler;
        final boolean pinned;
        final long submittedNs;
        final long deadlineNs;
        Target target;
        long notBeforeNs;
        int redirects;
        boolean sent;
        boolean done;

        Pending(final long requestId, final byte[] bytes, final ResponseHandler handler, final Target target, final boolean pinned,
            final long submittedNs, final long deadlineNs)
        {
            this.requestId = requestId;
            this.bytes = bytes;
            this.handler = handler;
            this.target = target;
            this.pinned = pinned;
            this.submittedNs = submittedNs;
            this.deadlineNs = deadlineNs;
        }
    }
}
