package io.ringraft.server.kv;

import io.ringraft.client.CommandResult;
import io.ringraft.client.NodeStatus;
import io.ringraft.client.Outcome;
import io.ringraft.client.QueryResult;
import io.ringraft.client.ReadMode;
import io.ringraft.client.RingraftClient;
import io.ringraft.engine.Role;
import io.ringraft.statemachine.KvDigest;
import io.ringraft.statemachine.KvStateMachine;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * A client of the example key-value service, on the client library ({@link RingraftClient}):
 * writes go through the session (applied at most once, resent across leader changes until the
 * timeout), reads are queries (linearizable on the leader, or local). Single-threaded: the thread
 * that submits also calls {@link #poll()}; answers reach each request's handler from inside
 * {@link #poll()}, exactly once.
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
        private long connectTimeoutNs = TimeUnit.SECONDS.toNanos(30);
        private String aeronDirectory;
        private boolean invokedDriver;
        private int termLength = 256 * 1024;
        private int window = 1024;
        private long clientId;
        private java.nio.file.Path keyFile;

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

        /** @param timeout how long a request may take, redirects and resends included */
        public Context timeout(final long timeout, final TimeUnit unit)
        {
            this.timeoutNs = unit.toNanos(timeout);
            return this;
        }

        /** @param timeout how long connecting (opening the session with the leader) may take */
        public Context connectTimeout(final long timeout, final TimeUnit unit)
        {
            this.connectTimeoutNs = unit.toNanos(timeout);
            return this;
        }

        /**
         * @param clientId the client's id in the nodes' credentials file
         * @param keyFile  its key file; null (the default) for an unauthenticated client
         * @return this
         */
        public Context credentials(final long clientId, final java.nio.file.Path keyFile)
        {
            this.clientId = clientId;
            this.keyFile = keyFile;
            return this;
        }

        /** @param dir the directory of a running media driver to use; null (the default) launches an embedded one */
        public Context aeronDirectory(final String dir)
        {
            this.aeronDirectory = dir;
            return this;
        }

        /**
         * @param invokedDriver run the embedded driver in {@link #poll()}: see
         *                      {@link RingraftClient.Context#invokedDriver(boolean)}
         * @return this
         */
        public Context invokedDriver(final boolean invokedDriver)
        {
            this.invokedDriver = invokedDriver;
            return this;
        }

        /** @param termLength the term length of the publications to the nodes (a power of two from 64 KiB) */
        public Context termLength(final int termLength)
        {
            this.termLength = termLength;
            return this;
        }

        /** @param window writes in flight at most */
        public Context window(final int window)
        {
            this.window = window;
            return this;
        }
    }

    private final Context ctx;
    private final RingraftClient client;
    private final UnsafeBuffer encodeBuffer;
    private long nextRequestId = 1;
    private int pending;

    /**
     * Connects: opens a session with the leader (see {@link RingraftClient#connect}).
     *
     * @param ctx the settings; at least one endpoint
     * @throws IllegalArgumentException if no endpoint is given or one does not parse or resolve
     * @throws io.ringraft.client.ClientException if no leader opened a session within the connect timeout
     */
    public KvClient(final Context ctx)
    {
        this.ctx = ctx;
        this.client = RingraftClient.connect(new RingraftClient.Context().endpoints(ctx.endpoints).clusterId(ctx.clusterId)
            .commandTimeout(ctx.timeoutNs, TimeUnit.NANOSECONDS).connectTimeout(ctx.connectTimeoutNs, TimeUnit.NANOSECONDS)
            .resendInterval(Math.max(TimeUnit.MILLISECONDS.toNanos(200), Math.min(ctx.timeoutNs / 3, TimeUnit.SECONDS.toNanos(1))),
                TimeUnit.NANOSECONDS)
            .aeronDirectory(ctx.aeronDirectory).invokedDriver(ctx.invokedDriver).termLength(ctx.termLength).window(ctx.window)
            .credentials(ctx.clientId, ctx.keyFile));
        this.encodeBuffer = new UnsafeBuffer(new byte[ctx.termLength / 8]);
    }

    /**
     * @param endpoint host:port
     * @return the resolved address
     * @throws IllegalArgumentException if it does not parse or resolve
     */
    public static java.net.InetSocketAddress parse(final String endpoint)
    {
        return RingraftClient.parse(endpoint);
    }

    /**
     * @param node a node's address
     * @return the local address the nodes can reply to: the one the route to {@code node} leaves from
     */
    public static String replyHostFor(final java.net.InetSocketAddress node)
    {
        return RingraftClient.replyHostFor(node);
    }

    /** @return the client library's client underneath */
    public RingraftClient client()
    {
        return client;
    }

    /**
     * Submits a request.
     *
     * @param op           {@link KvProtocol#PUT}, {@link KvProtocol#GET}, {@link KvProtocol#DELETE} or {@link KvProtocol#CAS}
     * @param key          the key
     * @param value        the new value of a PUT or CAS, else null
     * @param expected     the expected value of a CAS (null = absent), else null
     * @param linearizable for a GET: read on the leader after a ReadIndex barrier, else on the node the client talks to
     * @param handler      receives the answer from inside {@link #poll()}
     * @return the request id
     */
    public long submit(final byte op, final String key, final byte[] value, final byte[] expected, final boolean linearizable,
        final ResponseHandler handler)
    {
        final long requestId = nextRequestId++;
        final long submittedNs = System.nanoTime();
        pending++;
        if (op == KvProtocol.GET)
        {
            client.query(KvProtocol.getQuery(key), linearizable ? ReadMode.LINEARIZABLE : ReadMode.LOCAL)
                .thenAccept(r -> onRead(requestId, r, submittedNs, handler));
            return requestId;
        }
        final byte[] k = key.getBytes(StandardCharsets.UTF_8);
        final int length;
        try
        {
            final int needed = KvStateMachine.commandLength(k, value, expected);
            if (needed > encodeBuffer.capacity())
            {
                throw new IllegalArgumentException("request of " + needed + " bytes exceeds the largest message of " +
                    encodeBuffer.capacity() + " bytes");
            }
            length = KvStateMachine.encodeCommand(encodeBuffer, 0, KvProtocol.kind(op), 0, requestId, k, value, expected);
        }
        catch (final IllegalArgumentException ex)
        {
            deliver(handler, requestId, new KvResponse(KvProtocol.BAD_REQUEST, 0, null, ex.getMessage(), client.leaderEndpoint(),
                submittedNs, System.nanoTime()));
            return requestId;
        }
        final byte[] command = new byte[length];
        encodeBuffer.getBytes(0, command);
        client.submit(command).thenAccept(r -> onWrite(requestId, r, submittedNs, handler));
        return requestId;
    }

    /**
     * Asks one node for its status alone (role, term, leader, indexes): unlike {@link #submitStatus}
     * it needs no read of the state machine, so a node answers it also while there is no leader.
     *
     * @param endpoint the node's client endpoint
     * @param handler  receives the status, or null if the node did not answer within the timeout
     */
    public void submitNodeStatus(final String endpoint, final Consumer<NodeStatus> handler)
    {
        client.status(endpoint).thenAccept(handler);
    }

    /**
     * Asks one node for its status and state digest (a local read at that node).
     *
     * @param endpoint the node's client endpoint
     * @param handler  receives the status, or null if the node did not answer within the timeout
     */
    public void submitStatus(final String endpoint, final Consumer<KvNodeStatus> handler)
    {
        final CompletableFuture<NodeStatus> status = client.status(endpoint);
        final CompletableFuture<QueryResult> digest = client.queryMember(endpoint, KvProtocol.digestQuery());
        status.thenCombine(digest, (s, d) -> s == null || !d.isOk() || d.response().length < KvProtocol.DIGEST_LONGS * 8 ? null :
            toStatus(s, d, endpoint)).thenAccept(handler);
    }

    private static KvNodeStatus toStatus(final NodeStatus s, final QueryResult d, final String endpoint)
    {
        final UnsafeBuffer b = new UnsafeBuffer(d.response());
        return new KvNodeStatus(s.nodeId(), Role.valueOf(s.role()), s.term(), s.leaderId(), s.commitIndex(), s.appliedIndex(),
            new KvDigest(b.getLong(0), b.getLong(8), b.getLong(16), b.getLong(24), b.getLong(32)), endpoint);
    }

    /** @return true if the client's embedded driver runs in {@link #poll()} ({@link Context#invokedDriver(boolean)}) */
    public boolean invokedDriver()
    {
        return client.invokedDriver();
    }

    /** @return an idle strategy for the loop that calls {@link #poll()}: see {@link RingraftClient#idleStrategy()} */
    public org.agrona.concurrent.IdleStrategy idleStrategy()
    {
        return client.idleStrategy();
    }

    /**
     * Does one round of the client's work (see {@link RingraftClient#poll()}).
     *
     * @return the work done
     */
    public int poll()
    {
        return client.poll();
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
        while (answer[0] == null)
        {
            idle();
        }
        return answer[0];
    }

    /**
     * Asks one node for its status and waits for the answer.
     *
     * @param endpoint the node's client endpoint
     * @return its status, or null if it did not answer within the timeout
     */
    public KvNodeStatus status(final String endpoint)
    {
        final Object[] answer = new Object[1];
        final boolean[] done = new boolean[1];
        submitStatus(endpoint, s ->
        {
            answer[0] = s;
            done[0] = true;
        });
        while (!done[0])
        {
            idle();
        }
        return (KvNodeStatus)answer[0];
    }

    /** @return how many requests await their answer */
    public int pending()
    {
        return pending;
    }

    /** @return the client endpoint requests go to first (the leader once known) */
    public String preferredEndpoint()
    {
        return client.leaderEndpoint();
    }

    /** Closes the session and the client's resources (an embedded driver's directory included). */
    @Override
    public void close()
    {
        client.close();
    }

    private void idle()
    {
        if (client.poll() == 0)
        {
            LockSupport.parkNanos(50_000);
        }
    }

    private void onWrite(final long requestId, final CommandResult r, final long submittedNs, final ResponseHandler handler)
    {
        final long now = System.nanoTime();
        final KvResponse response;
        switch (r.outcome())
        {
            case Outcome.OK:
            {
                final UnsafeBuffer b = new UnsafeBuffer(r.response());
                final int status = r.response().length >= KvStateMachine.RESPONSE_HEADER ? b.getByte(0) : KvProtocol.BAD_REQUEST;
                final int valueLength = r.response().length >= KvStateMachine.RESPONSE_HEADER ? b.getInt(2) : -1;
                byte[] value = null;
                if (valueLength >= 0)
                {
                    value = new byte[valueLength];
                    b.getBytes(KvStateMachine.RESPONSE_HEADER, value);
                }
                response = new KvResponse(status, r.index(), value, r.duplicate() ? "applied once; answer resent" : "",
                    client.leaderEndpoint(), submittedNs, now);
                break;
            }
            case Outcome.APPLIED_RESPONSE_EVICTED:
                response = new KvResponse(KvProtocol.OK, r.index(), null, "applied; response no longer held", client.leaderEndpoint(),
                    submittedNs, now);
                break;
            case Outcome.REJECTED:
                response = new KvResponse(KvProtocol.BAD_REQUEST, 0, null, new String(r.response(), StandardCharsets.UTF_8),
                    client.leaderEndpoint(), submittedNs, now);
                break;
            case Outcome.SESSION_CLOSED:
                response = new KvResponse(KvProtocol.ABORTED, 0, null, "session closed", client.leaderEndpoint(), submittedNs, now);
                break;
            default:
                response = new KvResponse(KvProtocol.NO_ANSWER, 0, null, Outcome.name(r.outcome()) + " within " +
                    TimeUnit.NANOSECONDS.toMillis(ctx.timeoutNs) + " ms", client.leaderEndpoint(), submittedNs, now);
                break;
        }
        deliver(handler, requestId, response);
    }

    private void onRead(final long requestId, final QueryResult r, final long submittedNs, final ResponseHandler handler)
    {
        final long now = System.nanoTime();
        final KvResponse response;
        if (r.isOk())
        {
            final byte[] value = KvProtocol.readValue(new UnsafeBuffer(r.response()), 0, r.response().length);
            response = new KvResponse(value == null ? KvProtocol.NOT_FOUND : KvProtocol.OK, r.appliedIndex(), value, "",
                client.leaderEndpoint(), submittedNs, now);
        }
        else
        {
            response = new KvResponse(r.status() == io.ringraft.client.ClientProtocol.BAD_REQUEST ? KvProtocol.BAD_REQUEST :
                KvProtocol.NO_ANSWER, 0, null, r.message(), client.leaderEndpoint(), submittedNs, now);
        }
        deliver(handler, requestId, response);
    }

    private void deliver(final ResponseHandler handler, final long requestId, final KvResponse response)
    {
        pending--;
        handler.onResponse(requestId, response);
    }
}
