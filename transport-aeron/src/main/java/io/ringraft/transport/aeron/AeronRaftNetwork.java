package io.ringraft.transport.aeron;

import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.FragmentAssembler;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.exceptions.ConfigurationException;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.ringraft.Membership;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.RaftNetwork;
import org.agrona.BitUtil;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.collections.LongHashSet;
import org.agrona.concurrent.AgentInvoker;
import org.agrona.concurrent.UnsafeBuffer;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@link RaftNetwork} over Aeron UDP: one exclusive publication to each peer's endpoint, one
 * subscription on this node's endpoint, messages in the wire format of this package.
 * <p>
 * {@link #send} never blocks or spins: it encodes into a reusable buffer and offers once. Results:
 * {@link #SENT} once Aeron took the message; {@link #BACK_PRESSURED} when the peer's window is full
 * or Aeron asks for a retry (admin action); {@link #NOT_CONNECTED} when the peer is not configured,
 * is this node itself, or has no live subscription (not started yet, restarted and not yet
 * reconnected, or gone); {@link #CLOSED} once this network (or its Aeron client) is closed. A
 * message longer than the configured maximum throws {@link MessageTooLargeException}: the
 * caller sizes its batches, see {@link WireFormat#appendEntriesLength(int, long)}. A message whose
 * {@code from()} is not this node throws {@link IllegalArgumentException}.
 * <p>
 * {@link #poll} delivers at most {@code limit} messages (it reads at most {@code limit} Aeron
 * fragments, and a message is at least one). Frames that fail the checks of {@link WireDecoder}
 * are dropped and counted in {@link #counters()}, never thrown.
 * <p>
 * A peer that restarts on the same endpoint becomes reachable again by itself: its new
 * subscription makes Aeron connect this node's publication to it.
 * <p>
 * The peers follow the membership ({@link #onMembershipChanged}): the configured endpoints are the
 * peers until the node's log holds a membership (a new cluster's seed, or the contacts of a node
 * that joins one), then the membership's nodes are: a publication is opened to each new one and
 * closed for each one gone, and frames from any other sender are dropped and counted as
 * {@link DropReason#UNKNOWN_SENDER}, except an introduction ({@link io.ringraft.network.Introduce}):
 * a leader this node's membership does not name (this node missed the change that added it) tells
 * where it is. Those are delivered, at most {@link #STRANGER_INTRODUCTIONS_PER_SECOND} per second
 * (counted in {@link TransportCounters#introductionsFromNonMembers()}, the rest dropped as
 * {@link DropReason#INTRODUCTION_LIMITED}), after the same authentication as every frame; the node
 * decides whether to add the sender to its peers. A member's address is the first whitespace-separated word of
 * its endpoint in the membership (further words are for other layers, such as a client service), or
 * the configured one if the membership has none.
 * <p>
 * Threads: one thread sends and one thread polls, as {@link RaftNetwork} says; {@link #close()}
 * is called once both have stopped using the network. By default the embedded driver runs one
 * thread and the Aeron client one conductor thread, both with backoff idle strategies; in
 * {@linkplain AeronTransportConfig#invoker(boolean) invoker mode} neither exists and their work runs
 * in {@link #doWork()}, which the node calls before each {@link #poll}.
 * <p>
 * Failures: the Aeron client stops by itself when its media driver goes away or stops answering
 * ({@code DriverTimeoutException}), when the driver timed it out ({@code ClientTimeoutException}),
 * or in invoker mode when its conductor was not run within the driver's client liveness timeout
 * ({@code ConductorServiceTimeoutException}: the polling thread stalled). The network then throws
 * from {@link #poll}, that time and every later one, an {@link IllegalStateException} whose cause
 * is Aeron's error, so that the node fails stop rather than going on with every send answered
 * {@link #CLOSED}. What the poll's handler throws, which Aeron's {@code Image.poll} would hand to
 * an error handler and go on, is thrown from {@link #poll} once Aeron returns (the rest of that
 * poll's fragments are dropped). Aeron's other, non-fatal errors (such as a peer's channel
 * failing) are written to the {@linkplain AeronTransportConfig#log(java.util.function.Consumer) log}.
 */
public final class AeronRaftNetwork implements RaftNetwork
{
    /**
     * The most introductions ({@link io.ringraft.network.Introduce}) from senders that are not peers
     * delivered per second (a window of one second); the others are dropped as
     * {@link DropReason#INTRODUCTION_LIMITED}. A leader sends a silent member one per heartbeat
     * interval (50 ms by default): one delivered is enough.
     */
    public static final int STRANGER_INTRODUCTIONS_PER_SECOND = 50;
    private static final long SECOND_NANOS = 1_000_000_000L;

    private final AeronTransportConfig config;
    private final long nodeId;
    private final EmbeddedMediaDriver driver;
    private final Aeron aeron;
    private final AgentInvoker conductorInvoker;
    private final AgentInvoker driverInvoker;
    private final Subscription subscription;
    private final Long2ObjectHashMap<ExclusivePublication> publications = new Long2ObjectHashMap<>();
    /** The address each publication was opened on. */
    private final Long2ObjectHashMap<String> publicationEndpoints = new Long2ObjectHashMap<>();
    private final WireEncoder encoder;
    private final UnsafeBuffer sendBuffer;
    private final WireDecoder decoder;
    private final FragmentAssembler assembler;
    private final TransportCounters counters;
    // Authentication (null/0 when off): one authenticator per thread over the shared key ring.
    private final KeyRing keyRing;
    private final FrameAuthenticator signer;
    private final FrameAuthenticator verifier;
    private final ReplayGuard replayGuard;
    private final long epoch;
    private long sequence;
    // The source address check: each peer's host addresses, by node id; replaced, never changed,
    // when the membership changes (the polling thread reads it without locks).
    private volatile Long2ObjectHashMap<Set<InetAddress>> peerAddresses = new Long2ObjectHashMap<>();
    private String lastSourceIdentity;
    private InetAddress lastSourceAddress;
    private String currentSourceIdentity;
    private final DropLog dropLog;

    /** Replaced, never changed, when the membership changes: the polling thread reads it without locks. */
    private volatile LongHashSet acceptedSenders;
    private volatile long[] peerIds;
    private MessageHandler pollHandler;
    private int delivered;
    /** What the poll's handler threw (polling thread): thrown from {@link #poll} once Aeron returns. */
    private Throwable handlerFailure;
    /** Whether the Aeron client stopped by itself (reported on any thread: the conductor's, or the polling one in invoker mode). */
    private final AeronClientWatch clientWatch;
    // The polling thread's: the window of introductions from non-peers.
    private long strangerWindowStartNanos;
    private int strangerIntroductionsInWindow;
    private volatile boolean closed;

    /**
     * Starts the network: launches the embedded driver if configured, connects to Aeron, opens
     * the subscription and the publications.
     *
     * @param config the settings; {@link AeronTransportConfig#conclude()} is called here, and the
     *               network keeps using the object, so do not change it afterwards
     * @throws io.aeron.exceptions.ConfigurationException for a bad setting
     */
    public AeronRaftNetwork(final AeronTransportConfig config)
    {
        this.config = config.conclude();
        final long self = config.nodeId();
        this.nodeId = self;
        this.clientWatch = new AeronClientWatch("ringraft transport node " + self, config.log());
        EmbeddedMediaDriver launched = null;
        Aeron client = null;
        try
        {
            launched = config.embeddedDriver() ? EmbeddedMediaDriver.launch(self, config.termLength(), config.invoker()) : null;
            final String dir = launched != null ? launched.aeronDirectoryName() : config.aeronDirectoryName();
            final Aeron.Context ctx = clientWatch.watch(new Aeron.Context().aeronDirectoryName(dir).useConductorAgentInvoker(config.invoker())
                .subscriberErrorHandler(this::onHandlerError));
            final AgentInvoker runsDriver = !config.invoker() ? null : launched != null ? launched.invoker() : config.externalDriverInvoker();
            if (runsDriver != null)
            {
                // While the client waits for the driver (connect, add publication...), it runs the driver itself.
                ctx.driverAgentInvoker(runsDriver);
            }
            client = Aeron.connect(ctx);
            this.counters = new TransportCounters(client, self);
            this.subscription = client.addSubscription(
                new ChannelUriStringBuilder().media("udp").endpoint(config.endpoints().get(self)).build(), config.streamId());
            final LongHashSet accepted = new LongHashSet();
            for (final Map.Entry<Long, String> peer : config.endpoints().entrySet())
            {
                if (peer.getKey() != self)
                {
                    notePeerAddresses(peer.getKey(), peer.getValue());
                    publications.put(peer.getKey().longValue(), addPublication(client, config, peer.getValue()));
                    publicationEndpoints.put(peer.getKey().longValue(), peer.getValue());
                    accepted.add(peer.getKey());
                }
            }
            this.acceptedSenders = accepted;
            this.peerIds = publications.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
        }
        catch (final RuntimeException ex)
        {
            CloseHelper.closeAll(client, launched);
            throw ex;
        }
        this.driver = launched;
        this.aeron = client;
        this.conductorInvoker = config.invoker() ? client.conductorAgentInvoker() : null;
        this.driverInvoker = !config.invoker() ? null : launched != null ? launched.invoker() : config.externalDriverInvoker();
        this.keyRing = config.keyRing();
        final boolean authenticated = keyRing != null;
        this.signer = authenticated ? new FrameAuthenticator(keyRing) : null;
        this.verifier = authenticated ? new FrameAuthenticator(keyRing) : null;
        this.replayGuard = authenticated ? new ReplayGuard() : null;
        this.epoch = authenticated ? SenderEpoch.next(config.authEpochFile(), SenderEpoch.nowMicros()) : 0;
        final int trailer = authenticated ? FrameAuthenticator.TRAILER_LENGTH : 0;
        this.encoder = new WireEncoder(config.clusterId(), config.maxMessageLength() - trailer,
            authenticated ? WireFormat.FLAG_AUTHENTICATED : 0);
        // On the heap: the authenticator reads a byte array in place.
        this.sendBuffer = new UnsafeBuffer(new byte[BitUtil.align(config.maxMessageLength(), 64)]);
        this.decoder = new WireDecoder(config.clusterId(), self, sender -> acceptedSenders.contains(sender), config.maxMessageLength(),
            verifier, replayGuard, config.sourceAddressCheck() ? this::sourceMatches : null, this::admitStrangerIntroduction);
        this.assembler = new FragmentAssembler(new OnFragment());
        this.dropLog = new DropLog(config.log());
    }

    /** Aeron's handler for what a subscription's fragment handler threw (the polling thread, inside {@code Image.poll}). */
    private void onHandlerError(final Throwable error)
    {
        if (handlerFailure == null)
        {
            handlerFailure = error;
        }
        else if (handlerFailure != error)
        {
            handlerFailure.addSuppressed(error);
        }
    }

    /**
     * @return why the Aeron client under this network stopped by itself (then {@link #poll} throws), or null while it runs
     */
    public Throwable clientFailure()
    {
        return clientWatch.failure();
    }

    /** Notes the addresses a peer's frames may come from (for the source address check). */
    private void notePeerAddresses(final long peer, final String endpoint)
    {
        if (!config.sourceAddressCheck())
        {
            return;
        }
        final String host = endpoint.substring(0, endpoint.lastIndexOf(':'));
        try
        {
            final Set<InetAddress> addresses = new HashSet<>(List.of(InetAddress.getAllByName(
                host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host)));
            final Long2ObjectHashMap<Set<InetAddress>> replaced = new Long2ObjectHashMap<>();
            replaced.putAll(peerAddresses);
            replaced.put(peer, addresses);
            peerAddresses = replaced;
        }
        catch (final UnknownHostException ex)
        {
            throw new ConfigurationException("endpoints: node " + peer + " endpoint=" + endpoint + ": host " + host +
                " does not resolve (needed by sourceAddressCheck): " + ex.getMessage());
        }
    }

    /** @return true if an introduction from a sender that is not a peer fits the rate limit (counted then) */
    private boolean admitStrangerIntroduction(final long sender)
    {
        final long now = System.nanoTime();
        if (strangerIntroductionsInWindow == 0 || now - strangerWindowStartNanos >= SECOND_NANOS)
        {
            strangerWindowStartNanos = now;
            strangerIntroductionsInWindow = 0;
        }
        if (strangerIntroductionsInWindow >= STRANGER_INTRODUCTIONS_PER_SECOND)
        {
            return false;
        }
        strangerIntroductionsInWindow++;
        counters.onIntroductionFromNonMember();
        return true;
    }

    private boolean sourceMatches(final long sender)
    {
        final String identity = currentSourceIdentity;
        if (identity == null)
        {
            return true; // not received through an Image (cannot happen over Aeron)
        }
        if (!identity.equals(lastSourceIdentity))
        {
            lastSourceAddress = parseSource(identity);
            lastSourceIdentity = identity;
        }
        final Set<InetAddress> expected = peerAddresses.get(sender);
        // A member without a usable endpoint has no address to check against; its frames are accepted.
        return expected == null || lastSourceAddress != null && expected.contains(lastSourceAddress);
    }

    /** @return the address of Aeron's source identity ("host:port", "[v6]:port"), or null */
    static InetAddress parseSource(final String identity)
    {
        final int colon = identity.lastIndexOf(':');
        String host = colon > 0 ? identity.substring(0, colon) : identity;
        if (host.startsWith("[") && host.endsWith("]"))
        {
            host = host.substring(1, host.length() - 1);
        }
        try
        {
            return InetAddress.getByName(host); // a literal: no lookup
        }
        catch (final UnknownHostException ex)
        {
            return null;
        }
    }

    /** @return the MTU of the publication to {@code peer}, or -1 without one (for tests) */
    int publicationMtu(final long peer)
    {
        final ExclusivePublication publication = publications.get(peer);
        return publication == null ? -1 : publication.maxPayloadLength() + io.aeron.protocol.DataHeaderFlyweight.HEADER_LENGTH;
    }

    private static ExclusivePublication addPublication(final Aeron client, final AeronTransportConfig config, final String endpoint)
    {
        return client.addExclusivePublication(PublicationChannels.udp(endpoint, config.termLength(), config.mtu()), config.streamId());
    }

    /**
     * {@inheritDoc}
     * <p>
     * Opens publications to new members and closes those of nodes gone (a call to the media
     * driver for each: expect a fraction of a millisecond per change). A member whose endpoint is
     * unusable, or who has none, gets no publication (sends to it return {@link #NOT_CONNECTED}),
     * and one without a usable endpoint is counted in {@link TransportCounters#endpointsRefused()};
     * its frames are still accepted.
     */
    @Override
    public void onMembershipChanged(final Membership membership)
    {
        if (closed)
        {
            return;
        }
        final LongHashSet accepted = new LongHashSet();
        for (final long peer : membership.allNodes())
        {
            if (peer == nodeId)
            {
                continue;
            }
            accepted.add(peer);
            final String endpoint = endpointOf(peer, membership.endpoints().get(peer));
            final String current = publicationEndpoints.get(peer);
            if (endpoint != null && endpoint.equals(current))
            {
                continue;
            }
            if (current != null)
            {
                closePublication(peer);
            }
            if (endpoint == null)
            {
                counters.onEndpointRefused();
                continue;
            }
            try
            {
                AeronTransportConfig.validateEndpoint(peer, endpoint);
                notePeerAddresses(peer, endpoint);
                publications.put(peer, addPublication(aeron, config, endpoint));
                publicationEndpoints.put(peer, endpoint);
            }
            catch (final RuntimeException ex)
            {
                counters.onEndpointRefused(); // from the log: a bad address must not stop the node
            }
        }
        final long[] gone = publications.keySet().stream().mapToLong(Long::longValue).filter(p -> !accepted.contains(p)).toArray();
        for (final long peer : gone)
        {
            closePublication(peer);
        }
        acceptedSenders = accepted;
        peerIds = publications.keySet().stream().mapToLong(Long::longValue).sorted().toArray();
    }

    /** @return the UDP address to reach {@code peer}: the membership's, else the one in use, else the configured one */
    private String endpointOf(final long peer, final String fromMembership)
    {
        if (fromMembership != null && !fromMembership.isBlank())
        {
            return fromMembership.trim().split("\\s+", 2)[0];
        }
        final String current = publicationEndpoints.get(peer);
        return current != null ? current : config.endpoints().get(peer);
    }

    private void closePublication(final long peer)
    {
        CloseHelper.quietClose(publications.remove(peer));
        publicationEndpoints.remove(peer);
    }

    /** @return the peers this node has a publication to, sorted; any thread */
    public long[] peers()
    {
        return peerIds.clone();
    }

    /** @return the concluded settings */
    public AeronTransportConfig config()
    {
        return config;
    }

    /** @return this node's counters */
    public TransportCounters counters()
    {
        return counters;
    }

    /** @return the longest message {@link #send} accepts */
    public int maxMessageLength()
    {
        return encoder.maxMessageLength();
    }

    /**
     * The network's Aeron client, for the node's other users of Aeron (such as a client ingress) so that they
     * need no client, conductor or driver of their own. In {@linkplain AeronTransportConfig#invoker(boolean)
     * invoker mode} its conductor and an embedded driver run only in {@link #doWork()}: use it from
     * the thread that polls. The network closes it.
     *
     * @return the Aeron client
     */
    public Aeron aeron()
    {
        return aeron;
    }

    /**
     * A waiter on the sockets of this network's embedded driver, for a node that sleeps on them when idle
     * ({@link io.ringraft.YieldThenWaitIdleStrategy}): bind it, with the node, to the idle strategy of the thread
     * that runs {@link #doWork()}.
     *
     * @return the embedded driver's socket waiter
     * @throws IllegalStateException unless the network runs its own embedded driver in invoker mode
     */
    public DriverSocketWaiter socketWaiter()
    {
        if (driver == null || driverInvoker == null)
        {
            throw new IllegalStateException("a socket waiter needs the network's own embedded driver in invoker mode " +
                "(AeronTransportConfig.embeddedDriver(true).invoker(true)); this one has embeddedDriver=" + (driver != null) +
                " invoker=" + config.invoker());
        }
        return driver.socketWaiter();
    }

    /** @return the directory of the media driver this network uses */
    public String aeronDirectoryName()
    {
        return driver != null ? driver.aeronDirectoryName() : config.aeronDirectoryName();
    }

    /** @return true if {@link #close()} has run */
    public boolean isClosed()
    {
        return closed;
    }

    /**
     * @param peer a configured peer
     * @return true if Aeron has a live subscription of the peer connected to the publication
     */
    public boolean isConnected(final long peer)
    {
        final ExclusivePublication publication = publications.get(peer);
        return !closed && publication != null && publication.isConnected();
    }

    @Override
    public int send(final RaftMessage message)
    {
        Objects.requireNonNull(message, "message");
        if (closed)
        {
            return CLOSED;
        }
        if (message.from() != nodeId)
        {
            throw new IllegalArgumentException("node " + nodeId + " cannot send a message from " + message.from() + ": " + message);
        }
        final ExclusivePublication publication = publications.get(message.to());
        if (publication == null)
        {
            return NOT_CONNECTED;
        }
        int length = encoder.encode(message, sendBuffer, 0);
        if (signer != null)
        {
            length += signer.sign(sendBuffer, 0, length, epoch, ++sequence);
        }
        final long result = Offers.offer(publication, sendBuffer, 0, length);
        if (result > 0)
        {
            counters.onSent();
            return SENT;
        }
        if (result == Publication.BACK_PRESSURED || result == Publication.ADMIN_ACTION)
        {
            counters.onBackPressured();
            return BACK_PRESSURED;
        }
        if (result == Publication.CLOSED)
        {
            return CLOSED;
        }
        // NOT_CONNECTED, or MAX_POSITION_EXCEEDED (2^31 terms sent: unreachable in practice).
        counters.onNotConnected();
        return NOT_CONNECTED;
    }

    /**
     * In {@linkplain AeronTransportConfig#invoker(boolean) invoker mode}, runs one duty cycle of the
     * Aeron client conductor and of an embedded driver (which is when messages actually leave and
     * arrive); does nothing otherwise. The node calls it before each {@link #poll}; call it from the
     * polling thread only. Its work counts, so that the node does not idle while a message longer
     * than one datagram still leaves (the driver's sender sends one datagram per publication per duty
     * cycle) or arrives; the conductors' own housekeeping counts too, which wakes an idle node about
     * once a millisecond.
     *
     * @return the amount of work done, 0 when idle
     */
    @Override
    public int doWork()
    {
        if (closed)
        {
            return 0;
        }
        int work = 0;
        if (conductorInvoker != null)
        {
            // The client first, so its keepalive reaches the driver before the driver checks for it.
            work += conductorInvoker.invoke();
        }
        if (driverInvoker != null)
        {
            work += driverInvoker.invoke();
        }
        return work;
    }

    /**
     * {@inheritDoc}
     * <p>
     * In invoker mode it receives only what {@link #doWork()} brought in: call that first (the node does).
     *
     * @throws IllegalStateException if the Aeron client stopped by itself (see the class documentation)
     */
    @Override
    public int poll(final MessageHandler handler, final int limit)
    {
        if (closed)
        {
            return 0;
        }
        clientWatch.check();
        if (keyRing != null && config.authKeyCheckIntervalMs() > 0)
        {
            checkKeyFile();
        }
        if (limit <= 0)
        {
            return 0;
        }
        pollHandler = handler;
        delivered = 0;
        try
        {
            subscription.poll(assembler, limit);
        }
        finally
        {
            pollHandler = null;
        }
        final Throwable thrown = handlerFailure;
        if (thrown != null)
        {
            handlerFailure = null;
            if (thrown instanceof RuntimeException)
            {
                throw (RuntimeException)thrown;
            }
            if (thrown instanceof Error)
            {
                throw (Error)thrown;
            }
            throw new IllegalStateException("ringraft transport node " + nodeId + ": a message handler failed: " + thrown, thrown);
        }
        return delivered;
    }

    /** Closes the publications, the subscription, the counters, the Aeron client and an embedded driver. */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        clientWatch.ownerCloses();
        for (final ExclusivePublication publication : publications.values())
        {
            CloseHelper.quietClose(publication);
        }
        CloseHelper.closeAll(subscription, counters, aeron, driver);
    }

    @Override
    public String toString()
    {
        return "AeronRaftNetwork{node=" + config.nodeId() + " endpoint=" + config.endpoints().get(config.nodeId()) +
            (closed ? " closed" : "") + "}";
    }

    private void checkKeyFile()
    {
        try
        {
            if (keyRing.reloadIfChanged(System.currentTimeMillis(), config.authKeyCheckIntervalMs()))
            {
                config.log().accept("ringraft transport node " + nodeId + ": now using " + keyRing.keys());
            }
        }
        catch (final IllegalArgumentException ex)
        {
            dropLog.keyFileRefused(nodeId, ex.getMessage());
        }
    }

    /**
     * Reads the key file again (a rotation step) and uses its keys from the next frame on; the
     * polling thread also does it by itself when the file changes (see
     * {@link AeronTransportConfig#authKeyCheckIntervalMs(long)}). Any thread.
     *
     * @return true if the keys changed
     * @throws IllegalStateException    if authentication is off
     * @throws IllegalArgumentException if the file cannot be read or is invalid: the keys in use stay
     */
    public boolean reloadKeys()
    {
        if (keyRing == null)
        {
            throw new IllegalStateException("authentication is off: no authKeyFile set");
        }
        return keyRing.reload();
    }

    /** @return the keys in use, or null when authentication is off */
    public ClusterKeys keys()
    {
        return keyRing == null ? null : keyRing.keys();
    }

    /** @return this node's sender epoch (0 when authentication is off) */
    public long epoch()
    {
        return epoch;
    }

    private final class OnFragment implements FragmentHandler
    {
        @Override
        public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
        {
            if (handlerFailure != null)
            {
                return; // a handler failed in this poll, which throws once Aeron returns
            }
            final Object image = header.context();
            currentSourceIdentity = image instanceof Image ? ((Image)image).sourceIdentity() : null;
            final RaftMessage message = decoder.decode(buffer, offset, length);
            if (message == null)
            {
                final DropReason reason = decoder.lastDropReason();
                counters.onDropped(reason);
                dropLog.onDropped(reason, nodeId, decoder.lastSenderId(), currentSourceIdentity, buffer, offset, length, keyRing,
                    replayGuard);
                return;
            }
            counters.onReceived();
            delivered++;
            pollHandler.onMessage(message);
        }
    }
}
