package io.ringraft.transport.aeron;

import io.aeron.exceptions.ConfigurationException;
import org.agrona.concurrent.AgentInvoker;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Settings of an {@link AeronRaftNetwork}: fluent setters, defaults from system properties, and
 * one {@link #conclude()} that validates everything and names the bad setting and its value.
 * <p>
 * System properties: {@value #STREAM_ID_PROP}, {@value #TERM_LENGTH_PROP}, {@value #MTU_PROP},
 * {@value #MAX_MESSAGE_LENGTH_PROP}, {@value #AERON_DIR_PROP} (setting it selects an external
 * media driver), {@value #AUTH_KEY_FILE_PROP}, {@value #AUTH_EPOCH_FILE_PROP},
 * {@value #AUTH_KEY_CHECK_INTERVAL_PROP}, {@value #SOURCE_CHECK_PROP}.
 * <p>
 * Authentication is off unless a key file is set ({@link #authKeyFile(Path)}): then every frame
 * is signed and every frame received must be signed with a key of the file, from a sender's
 * current epoch, never seen before. Recommended whenever the nodes' network is not private to
 * them: without it, anyone who can send UDP datagrams to a node and guesses the cluster id and a
 * member id can take part in the protocol as that member.
 */
public final class AeronTransportConfig
{
    /** System property for {@link #streamId(int)}. */
    public static final String STREAM_ID_PROP = "ringraft.aeron.stream.id";
    /** System property for {@link #termLength(int)}. */
    public static final String TERM_LENGTH_PROP = "ringraft.aeron.term.length";
    /** System property for {@link #mtu(int)}. */
    public static final String MTU_PROP = "ringraft.aeron.mtu";
    /** System property for {@link #maxMessageLength(int)}. */
    public static final String MAX_MESSAGE_LENGTH_PROP = "ringraft.aeron.max.message.length";
    /** System property for {@link #aeronDirectoryName(String)}; when set, the driver is external. */
    public static final String AERON_DIR_PROP = "ringraft.aeron.dir";

    /** System property for {@link #authKeyFile(Path)}. */
    public static final String AUTH_KEY_FILE_PROP = "ringraft.aeron.auth.key.file";
    /** System property for {@link #authEpochFile(Path)}. */
    public static final String AUTH_EPOCH_FILE_PROP = "ringraft.aeron.auth.epoch.file";
    /** System property for {@link #authKeyCheckIntervalMs(long)}. */
    public static final String AUTH_KEY_CHECK_INTERVAL_PROP = "ringraft.aeron.auth.key.check.interval.ms";
    /** System property for {@link #sourceAddressCheck(boolean)}. */
    public static final String SOURCE_CHECK_PROP = "ringraft.aeron.source.check";
    /** The default of {@link #authKeyCheckIntervalMs(long)}. */
    public static final long AUTH_KEY_CHECK_INTERVAL_DEFAULT = 1000;

    /** The default stream id. */
    public static final int STREAM_ID_DEFAULT = 1001;
    /** The default term length: 1 MiB, which allows messages of up to 128 KiB. */
    public static final int TERM_LENGTH_DEFAULT = 1024 * 1024;
    /** Aeron's smallest term length. */
    public static final int TERM_LENGTH_MIN = 64 * 1024;
    /** Aeron's largest term length. */
    public static final int TERM_LENGTH_MAX = 1024 * 1024 * 1024;
    /** The smallest max message length accepted: room for the header and a snapshot chunk's fields. */
    public static final int MAX_MESSAGE_LENGTH_MIN = 1024;

    private long nodeId;
    private int clusterId;
    private final Map<Long, String> endpoints = new TreeMap<>();
    private int streamId = Integer.getInteger(STREAM_ID_PROP, STREAM_ID_DEFAULT);
    private int termLength = Integer.getInteger(TERM_LENGTH_PROP, TERM_LENGTH_DEFAULT);
    private int mtu = Integer.getInteger(MTU_PROP, PublicationChannels.MTU_AUTO);
    private int maxMessageLength = Integer.getInteger(MAX_MESSAGE_LENGTH_PROP, 0);
    private String aeronDirectoryName = System.getProperty(AERON_DIR_PROP);
    private boolean embeddedDriver = aeronDirectoryName == null;
    private boolean invoker;
    private AgentInvoker externalDriverInvoker;
    private Path authKeyFile = pathProperty(AUTH_KEY_FILE_PROP);
    private Path authEpochFile = pathProperty(AUTH_EPOCH_FILE_PROP);
    private long authKeyCheckIntervalMs = Long.getLong(AUTH_KEY_CHECK_INTERVAL_PROP, AUTH_KEY_CHECK_INTERVAL_DEFAULT);
    private boolean sourceAddressCheck = !"false".equals(System.getProperty(SOURCE_CHECK_PROP));
    private Consumer<String> log = System.err::println;
    private KeyRing keyRing;
    private boolean concluded;

    /** @return this node's id */
    public long nodeId()
    {
        return nodeId;
    }

    /**
     * @param nodeId this node's id, {@code > 0}; it must have an entry in {@link #endpoints()}
     * @return this
     */
    public AeronTransportConfig nodeId(final long nodeId)
    {
        this.nodeId = nodeId;
        return this;
    }

    /** @return the cluster id written into and required of every frame */
    public int clusterId()
    {
        return clusterId;
    }

    /**
     * @param clusterId the cluster id written into and required of every frame
     * @return this
     */
    public AeronTransportConfig clusterId(final int clusterId)
    {
        this.clusterId = clusterId;
        return this;
    }

    /** @return every node's "host:port", this node's included */
    public Map<Long, String> endpoints()
    {
        return Collections.unmodifiableMap(endpoints);
    }

    /**
     * @param endpoints every node's UDP "host:port" (IPv6 hosts in brackets), this node's
     *                  included: this node subscribes on its own and publishes to the others';
     *                  replaces earlier endpoints
     * @return this
     */
    public AeronTransportConfig endpoints(final Map<Long, String> endpoints)
    {
        this.endpoints.clear();
        this.endpoints.putAll(endpoints);
        return this;
    }

    /**
     * @param nodeId a node
     * @param endpoint its "host:port"
     * @return this
     */
    public AeronTransportConfig endpoint(final long nodeId, final String endpoint)
    {
        endpoints.put(nodeId, endpoint);
        return this;
    }

    /** @return the Aeron stream id of the Raft traffic */
    public int streamId()
    {
        return streamId;
    }

    /**
     * @param streamId the Aeron stream id of the Raft traffic, the same on every node
     * @return this
     */
    public AeronTransportConfig streamId(final int streamId)
    {
        this.streamId = streamId;
        return this;
    }

    /** @return the term length of each publication */
    public int termLength()
    {
        return termLength;
    }

    /**
     * @param termLength the term length of each publication: a power of two from 64 KiB to 1 GiB;
     *                   a publication's log buffer takes 3 terms on the sender and as much again on
     *                   the receiver (sparse files)
     * @return this
     */
    public AeronTransportConfig termLength(final int termLength)
    {
        this.termLength = termLength;
        return this;
    }

    /** @return the MTU of the publications to the other nodes; {@link PublicationChannels#MTU_AUTO} chooses by endpoint */
    public int mtu()
    {
        return mtu;
    }

    /**
     * @param mtu the MTU of the publications to the other nodes: {@link PublicationChannels#MTU_AUTO}
     *            (the default) uses {@link PublicationChannels#LOOPBACK_MTU} towards a loopback endpoint
     *            and Aeron's default (1,408) elsewhere; or a multiple of 32 from 1,024 to 65,504 and at
     *            most termLength / 8, for networks whose every hop carries frames that large
     * @return this
     */
    public AeronTransportConfig mtu(final int mtu)
    {
        this.mtu = mtu;
        return this;
    }

    /** @return the longest message sent or accepted; after {@link #conclude()}, never 0 */
    public int maxMessageLength()
    {
        return maxMessageLength;
    }

    /**
     * @param maxMessageLength the longest message sent or accepted, at most Aeron's limit of
     *                         termLength / 8; 0 (the default) means exactly that limit
     * @return this
     */
    public AeronTransportConfig maxMessageLength(final int maxMessageLength)
    {
        this.maxMessageLength = maxMessageLength;
        return this;
    }

    /** @return true if the network launches and owns its media driver */
    public boolean embeddedDriver()
    {
        return embeddedDriver;
    }

    /**
     * @param embeddedDriver true (the default unless {@value #AERON_DIR_PROP} is set) to launch an
     *                       {@link EmbeddedMediaDriver} in its own new directory; false to connect
     *                       to a running driver in {@link #aeronDirectoryName()}
     * @return this
     */
    public AeronTransportConfig embeddedDriver(final boolean embeddedDriver)
    {
        this.embeddedDriver = embeddedDriver;
        return this;
    }

    /** @return true if the Aeron client conductor (and an embedded driver) run inside {@link AeronRaftNetwork#doWork()} */
    public boolean invoker()
    {
        return invoker;
    }

    /**
     * @param invoker true to start no thread at all: the Aeron client conductor and, if embedded
     *                (or given with {@link #externalDriverInvoker}), the media driver (in Aeron's
     *                INVOKER threading mode) do their work inside {@link AeronRaftNetwork#doWork()},
     *                which the node runs before every {@link AeronRaftNetwork#poll}; the polling
     *                thread must then poll regularly (well within Aeron's 10 s liveness timeouts) or
     *                nothing is sent or received. False (the default): the
     *                driver runs one shared thread and the client its own conductor thread, both
     *                with backoff idle strategies
     * @return this
     */
    public AeronTransportConfig invoker(final boolean invoker)
    {
        this.invoker = invoker;
        return this;
    }

    /** @return the invoker of an external driver that the network runs, or null */
    public AgentInvoker externalDriverInvoker()
    {
        return externalDriverInvoker;
    }

    /**
     * An external media driver in Aeron's INVOKER threading mode whose duty cycle this network runs, in
     * {@link AeronRaftNetwork#doWork()}: the node's thread is then also the driver's, as with an embedded
     * driver in {@linkplain #invoker(boolean) invoker mode}, while others (a client ingress, an admin
     * service) connect to the driver's directory. The network does not close it: its owner does, after the
     * network. Needs {@code invoker(true)} and {@link #externalDriver(String)} with that driver's directory.
     *
     * @param invoker the driver's invoker ({@link EmbeddedMediaDriver#invoker()}), or null for none
     * @return this
     */
    public AeronTransportConfig externalDriverInvoker(final AgentInvoker invoker)
    {
        this.externalDriverInvoker = invoker;
        return this;
    }

    /** @return the directory of the external media driver, or null */
    public String aeronDirectoryName()
    {
        return aeronDirectoryName;
    }

    /**
     * Selects an external media driver running in {@code dir}.
     *
     * @param dir the driver's directory
     * @return this
     */
    public AeronTransportConfig externalDriver(final String dir)
    {
        this.aeronDirectoryName = dir;
        this.embeddedDriver = false;
        return this;
    }

    /**
     * @param dir the directory of the external media driver
     * @return this
     */
    public AeronTransportConfig aeronDirectoryName(final String dir)
    {
        this.aeronDirectoryName = dir;
        return this;
    }

    /** @return the cluster key file, or null when authentication is off */
    public Path authKeyFile()
    {
        return authKeyFile;
    }

    /**
     * @param file the cluster key file (see {@link ClusterKeys} for its format), the same keys on
     *             every member; null (the default) turns authentication off. The keys never
     *             appear in the configuration itself; keep the file readable by the node only
     * @return this
     */
    public AeronTransportConfig authKeyFile(final Path file)
    {
        this.authKeyFile = file;
        return this;
    }

    /** @return where this node keeps its sender epoch, or null */
    public Path authEpochFile()
    {
        return authEpochFile;
    }

    /**
     * @param file where this node keeps its sender epoch (see {@link SenderEpoch}), e.g. in its
     *             data directory; null (the default) relies on the wall clock in microseconds,
     *             which must then never be set back between two starts of the node, or its peers
     *             drop its frames ({@link DropReason#OLD_EPOCH}) until they restart
     * @return this
     */
    public AeronTransportConfig authEpochFile(final Path file)
    {
        this.authEpochFile = file;
        return this;
    }

    /** @return how often the key file is looked at for a change, 0 for never */
    public long authKeyCheckIntervalMs()
    {
        return authKeyCheckIntervalMs;
    }

    /**
     * @param intervalMs how often the polling thread looks at the key file's modification time and
     *                   reloads a changed file (a rotation step); 0 for never (then call
     *                   {@link AeronRaftNetwork#reloadKeys()}). Default {@value #AUTH_KEY_CHECK_INTERVAL_DEFAULT}
     * @return this
     */
    public AeronTransportConfig authKeyCheckIntervalMs(final long intervalMs)
    {
        this.authKeyCheckIntervalMs = intervalMs;
        return this;
    }

    /** @return true if frames are dropped unless they come from the claimed sender's configured host */
    public boolean sourceAddressCheck()
    {
        return sourceAddressCheck;
    }

    /**
     * @param check true (the default) to drop a frame whose source IP address is not one of the
     *              addresses of the claimed sender's configured endpoint host
     *              ({@link DropReason#WRONG_SOURCE}); turn it off only when peers reach this node
     *              through address translation
     * @return this
     */
    public AeronTransportConfig sourceAddressCheck(final boolean check)
    {
        this.sourceAddressCheck = check;
        return this;
    }

    /** @return where the network writes its log lines */
    public Consumer<String> log()
    {
        return log;
    }

    /**
     * @param log where the network writes its (rate-limited) log lines; standard error by default
     * @return this
     */
    public AeronTransportConfig log(final Consumer<String> log)
    {
        this.log = java.util.Objects.requireNonNull(log, "log");
        return this;
    }

    /** @return the keys loaded by {@link #conclude()} from {@link #authKeyFile()}, or null when authentication is off */
    public KeyRing keyRing()
    {
        return keyRing;
    }

    /**
     * Validates every setting and fills in derived defaults; called by {@link AeronRaftNetwork}.
     *
     * @return this
     * @throws ConfigurationException naming the first bad setting and its value
     */
    public AeronTransportConfig conclude()
    {
        if (nodeId <= 0)
        {
            throw new ConfigurationException("nodeId=" + nodeId + " must be > 0");
        }
        if (!endpoints.containsKey(nodeId))
        {
            throw new ConfigurationException("endpoints=" + endpoints + " must contain this node's own endpoint (nodeId=" + nodeId + ")");
        }
        for (final Map.Entry<Long, String> e : endpoints.entrySet())
        {
            if (e.getKey() <= 0)
            {
                throw new ConfigurationException("endpoints: node id " + e.getKey() + " must be > 0");
            }
            validateEndpoint(e.getKey(), e.getValue());
        }
        if (externalDriverInvoker != null && (!invoker || embeddedDriver))
        {
            throw new ConfigurationException("externalDriverInvoker needs invoker=true and an external driver (invoker=" + invoker +
                ", embeddedDriver=" + embeddedDriver + ")");
        }
        if (termLength < TERM_LENGTH_MIN || termLength > TERM_LENGTH_MAX || Integer.bitCount(termLength) != 1)
        {
            throw new ConfigurationException("termLength=" + termLength + " must be a power of two from " +
                TERM_LENGTH_MIN + " to " + TERM_LENGTH_MAX);
        }
        final String mtuProblem = PublicationChannels.mtuProblem(mtu, termLength);
        if (mtuProblem != null)
        {
            throw new ConfigurationException("mtu=" + mtu + " " + mtuProblem);
        }
        final int aeronLimit = aeronMaxMessageLength(termLength);
        if (maxMessageLength == 0)
        {
            maxMessageLength = aeronLimit;
        }
        if (maxMessageLength < MAX_MESSAGE_LENGTH_MIN || maxMessageLength > aeronLimit)
        {
            throw new ConfigurationException("maxMessageLength=" + maxMessageLength + " must be from " +
                MAX_MESSAGE_LENGTH_MIN + " to " + aeronLimit + " (termLength=" + termLength + " / 8, Aeron's limit)");
        }
        if (!embeddedDriver && (aeronDirectoryName == null || aeronDirectoryName.isEmpty()))
        {
            throw new ConfigurationException("aeronDirectoryName=" + aeronDirectoryName + " must name the external driver's directory " +
                "when embeddedDriver=false");
        }
        if (authKeyCheckIntervalMs < 0)
        {
            throw new ConfigurationException("authKeyCheckIntervalMs=" + authKeyCheckIntervalMs + " must be >= 0");
        }
        if (authKeyFile != null)
        {
            try
            {
                keyRing = KeyRing.load(authKeyFile);
            }
            catch (final IllegalArgumentException ex)
            {
                throw new ConfigurationException("authKeyFile=" + authKeyFile + ": " + ex.getMessage());
            }
        }
        else
        {
            keyRing = null;
        }
        concluded = true;
        return this;
    }

    /** @return true once {@link #conclude()} has succeeded */
    public boolean isConcluded()
    {
        return concluded;
    }

    /**
     * @param termLength a term length
     * @return Aeron's largest message for it: termLength / 8, at most 16 MiB
     */
    public static int aeronMaxMessageLength(final int termLength)
    {
        return Math.min(termLength / 8, 16 * 1024 * 1024);
    }

    private static Path pathProperty(final String name)
    {
        final String value = System.getProperty(name);
        return value == null || value.isEmpty() ? null : Path.of(value);
    }

    static void validateEndpoint(final long node, final String endpoint)
    {
        final int colon = endpoint == null ? -1 : endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1)
        {
            throw new ConfigurationException("endpoints: node " + node + " endpoint=" + endpoint + " must be host:port");
        }
        final int port;
        try
        {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new ConfigurationException("endpoints: node " + node + " endpoint=" + endpoint + " has a port that is not a number");
        }
        if (port < 1 || port > 65535)
        {
            throw new ConfigurationException("endpoints: node " + node + " endpoint=" + endpoint + " port must be 1..65535");
        }
    }

    @Override
    public String toString()
    {
        return "AeronTransportConfig{nodeId=" + nodeId + ", clusterId=" + clusterId + ", endpoints=" + endpoints +
            ", streamId=" + streamId + ", termLength=" + termLength + ", maxMessageLength=" + maxMessageLength +
            ", embeddedDriver=" + embeddedDriver + ", aeronDirectoryName=" + aeronDirectoryName + ", invoker=" + invoker +
            ", authKeyFile=" + authKeyFile + ", authEpochFile=" + authEpochFile + ", sourceAddressCheck=" + sourceAddressCheck + "}";
    }
}
