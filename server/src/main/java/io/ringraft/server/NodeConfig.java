package io.ringraft.server;

import io.ringraft.ThreadingMode;
import io.ringraft.YieldThenParkIdleStrategy;
import io.ringraft.YieldThenWaitIdleStrategy;
import io.ringraft.engine.PlantedBug;
import io.ringraft.storage.DurabilityPolicy;
import io.ringraft.transport.aeron.ClientCredentials;
import io.ringraft.transport.aeron.ClusterKeys;
import io.ringraft.transport.aeron.PublicationChannels;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * The configuration of a node, read from a file of {@code key = value} lines ({@code #} starts a
 * comment). Every setting is validated when the file is read; a problem is a {@link CliException}
 * naming the file, the setting and its value.
 * <pre>
 * cluster.id   = 7                                # 1..2147483647, the same on every member
 * node.id      = 1                                # this node; or --id on the command line
 * member.1     = 10.0.0.1:9001 10.0.0.1:9101      # raft endpoint, client endpoint (UDP host:port)
 * member.2     = 10.0.0.2:9001 10.0.0.2:9101
 * member.3     = 10.0.0.3:9001 10.0.0.3:9101
 * data.dir     = /var/lib/ringraft/node-{id}      # {id} is replaced by the node id
 * durability   = BATCH                            # NONE | BATCH | ALWAYS
 * storage.sync.delay.ms = 0                       # a slow disk, for fault tests: extra delay before every log sync
 * storage.sync.delay.file = /tmp/node-1.delay     # fault tests: a file whose number of ms replaces it while the node runs
 * threading    = INVOKER                          # SHARED | DEDICATED | INVOKER (one thread: driver, node, ingress);
 *                                                 #   default: INVOKER with the embedded driver on up to 4 cores, else SHARED
 * idle         = yield-wait                       # backoff | yield-park | yield-wait | yielding | sleeping | busy-spin;
 *                                                 #   default: yield-wait with INVOKER and the embedded driver (it sleeps on
 *                                                 #   the driver's sockets; only there), else backoff
 * media.driver = embedded                         # embedded | external (then aeron.dir)
 * aeron.dir    = /dev/shm/aeron                   # the external driver's directory
 * aeron.term.length = 256k                        # 64k..1g, a power of two
 * aeron.mtu    = auto                             # auto (8k towards loopback endpoints, else Aeron's 1408) or a
 *                                                 #   multiple of 32 from 1024 to 65504, at most aeron.term.length / 8
 * election.timeout.ms = 300-600                   # randomized between the two
 * heartbeat.ms = 50
 * snapshot.every = 100000                         # entries applied between snapshots; 0 = never
 * snapshot.log.ratio = 1.0                        # a snapshot over 16 MiB is followed by the next only once the log
 *                                                 # since it carries this many times its size (0 = entries alone)
 * service      = io.ringraft.server.kv.KvService  # the ClusteredService class to host (on the classpath)
 * session.timeout.ms = 10000                      # a client session idle this long (cluster time) expires
 * max.sessions = 1024                             # open client sessions at most
 * auth.cluster.key.file = /etc/ringraft/cluster.key   # sign and check every Raft frame (the same file on every member)
 * auth.client.credentials.file = /etc/ringraft/clients # the clients let in, each with its own key
 * auth.client.required = true                      # refuse unsigned client and admin frames (default false)
 * </pre>
 * Only {@code cluster.id}, {@code node.id}, the members and {@code data.dir} are required. The
 * {@code auth.*} files are read (and checked) when the configuration is; keys are never in this
 * file. Without {@code auth.cluster.key.file} the system property
 * {@code ringraft.aeron.auth.key.file} still applies.
 */
public final class NodeConfig
{
    /** The cluster key file: every Raft frame signed and checked (see {@link ClusterKeys}). */
    public static final String AUTH_CLUSTER_KEY_FILE = "auth.cluster.key.file";
    /** The client credentials file: the clients let in, each with its own key (see {@link ClientCredentials}). */
    public static final String AUTH_CLIENT_CREDENTIALS_FILE = "auth.client.credentials.file";
    /** true to refuse unsigned client and admin frames. */
    public static final String AUTH_CLIENT_REQUIRED = "auth.client.required";

    /**
     * A slow disk switched on and off while the node runs, for fault-injection runs: a file (it
     * need not exist) whose content, a number of milliseconds, replaces {@code storage.sync.delay.ms}
     * while it is there; checked every 100 ms (see {@link SyncDelayFile}).
     */
    public static final String STORAGE_SYNC_DELAY_FILE = "storage.sync.delay.file";
    /** The longest {@code storage.sync.delay.ms}: one minute. */
    static final long MAX_SYNC_DELAY_MS = 60_000;

    /** The settings a file may hold, besides {@code member.<id>}. */
    static final Set<String> KEYS = Set.of("cluster.id", "node.id", "data.dir", "durability", "storage.sync.delay.ms",
        STORAGE_SYNC_DELAY_FILE, "threading",
        "idle", "media.driver",
        "aeron.dir", "aeron.term.length", "aeron.mtu", "election.timeout.ms", "heartbeat.ms", "snapshot.every", "snapshot.log.ratio", "service", "session.timeout.ms",
        "max.sessions", AUTH_CLUSTER_KEY_FILE, AUTH_CLIENT_CREDENTIALS_FILE, AUTH_CLIENT_REQUIRED);
    /**
     * A hidden, test-only setting: a {@link PlantedBug} the node runs with, so that a
     * fault-injection run can prove that its checks catch it. Not listed among the settings.
     */
    public static final String PLANTED_BUG = "test.planted.bug";

    /** The service {@code ringraft node} hosts unless the config names another. */
    public static final String DEFAULT_SERVICE = "io.ringraft.server.kv.KvService";

    /** One member of the cluster. */
    public record Member(long id, String raftEndpoint, String clientEndpoint)
    {
    }

    private final String source;
    private final Map<String, String> settings;
    private final int clusterId;
    private final long nodeId;
    private final Map<Long, Member> members;
    private final String dataDirPattern;
    private final DurabilityPolicy durability;
    private final long syncDelayMs;
    private final Path syncDelayFile;
    /** Up to this many cores, a node with the embedded driver defaults to the composed layout. */
    static final int FEW_CORES = 4;
    private final ThreadingMode threading;
    private final String idle;
    private final boolean embeddedDriver;
    private final String aeronDir;
    private final int termLength;
    private final int mtu;
    private final long electionMinMs;
    private final long electionMaxMs;
    private final long heartbeatMs;
    private final long snapshotEvery;
    private final double snapshotLogRatio;
    private final PlantedBug plantedBug;
    private final String service;
    private final long sessionTimeoutMs;
    private final int maxSessions;
    private final Path clusterKeyFile;
    private final Path clientCredentialsFile;
    private final boolean clientAuthRequired;

    private NodeConfig(final String source, final Map<String, String> settings, final Long idOverride, final boolean anyMember)
    {
        this.source = source;
        this.settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        for (final String key : settings.keySet())
        {
            if (!KEYS.contains(key) && !key.startsWith("member.") && !key.equals(PLANTED_BUG))
            {
                throw fail(key, settings.get(key), "is not a setting (known: " + String.join(", ", new TreeSet<>(KEYS)) +
                    ", member.<id>)");
            }
        }
        clusterId = (int)number("cluster.id", null, 1, Integer.MAX_VALUE);
        final Map<Long, Member> parsed = new TreeMap<>();
        final Map<String, String> endpointOwners = new LinkedHashMap<>();
        for (final Map.Entry<String, String> e : settings.entrySet())
        {
            if (e.getKey().startsWith("member."))
            {
                final Member m = member(e.getKey(), e.getValue());
                if (parsed.containsKey(m.id()))
                {
                    throw fail(e.getKey(), e.getValue(), "duplicate node id " + m.id());
                }
                for (final String endpoint : List.of(m.raftEndpoint(), m.clientEndpoint()))
                {
                    final String owner = endpointOwners.putIfAbsent(endpoint, e.getKey());
                    if (owner != null)
                    {
                        throw fail(e.getKey(), e.getValue(), "endpoint " + endpoint + " is used twice (also by " + owner + ")");
                    }
                }
                parsed.put(m.id(), m);
            }
        }
        if (parsed.isEmpty())
        {
            throw new CliException(source + ": no members (member.<id> = raftHost:port clientHost:port)");
        }
        members = Collections.unmodifiableMap(parsed);
        if (idOverride != null)
        {
            nodeId = idOverride;
        }
        else if (anyMember && !settings.containsKey("node.id"))
        {
            nodeId = parsed.keySet().iterator().next();
        }
        else
        {
            nodeId = number("node.id", null, 1, Long.MAX_VALUE);
        }
        if (!members.containsKey(nodeId))
        {
            throw fail("node.id", Long.toString(nodeId), "is not a member (members: " + members.keySet() + ")");
        }
        dataDirPattern = required("data.dir");
        durability = enumValue("durability", DurabilityPolicy.class, DurabilityPolicy.BATCH);
        syncDelayMs = number("storage.sync.delay.ms", "0", 0, MAX_SYNC_DELAY_MS);
        final String delayFile = settings.get(STORAGE_SYNC_DELAY_FILE);
        if (delayFile != null && delayFile.isBlank())
        {
            throw fail(STORAGE_SYNC_DELAY_FILE, delayFile, "must name a file");
        }
        syncDelayFile = delayFile == null ? null : Paths.get(delayFile.trim().replace("{id}", Long.toString(nodeId)));
        final String driver = settings.getOrDefault("media.driver", "embedded").trim().toLowerCase(Locale.ROOT);
        if (!driver.equals("embedded") && !driver.equals("external"))
        {
            throw fail("media.driver", driver, "must be embedded or external");
        }
        embeddedDriver = driver.equals("embedded");
        // Unset, the layout follows the machine: on few cores one thread per node that sleeps on its sockets.
        final boolean fewCores = Runtime.getRuntime().availableProcessors() <= FEW_CORES;
        threading = enumValue("threading", ThreadingMode.class, embeddedDriver && fewCores ? ThreadingMode.INVOKER : ThreadingMode.SHARED);
        idle = settings.getOrDefault("idle", threading == ThreadingMode.INVOKER && embeddedDriver ? "yield-wait" : "backoff")
            .trim().toLowerCase(Locale.ROOT);
        idleStrategy(idle);
        aeronDir = settings.get("aeron.dir");
        if (!embeddedDriver && (aeronDir == null || aeronDir.isBlank()))
        {
            throw fail("media.driver", driver, "needs aeron.dir, the external driver's directory");
        }
        termLength = (int)number("aeron.term.length", "256k", 64 * 1024, 1024 * 1024 * 1024);
        if (Integer.bitCount(termLength) != 1)
        {
            throw fail("aeron.term.length", settings.get("aeron.term.length"), "must be a power of two");
        }
        mtu = "auto".equalsIgnoreCase(settings.getOrDefault("aeron.mtu", "auto").trim()) ? PublicationChannels.MTU_AUTO :
            (int)number("aeron.mtu", null, PublicationChannels.MTU_MIN, PublicationChannels.MTU_MAX);
        final String mtuProblem = PublicationChannels.mtuProblem(mtu, termLength);
        if (mtuProblem != null)
        {
            throw fail("aeron.mtu", settings.get("aeron.mtu"), mtuProblem + " (aeron.term.length=" + termLength + ")");
        }
        final String election = settings.getOrDefault("election.timeout.ms", "300-600").trim();
        final String[] bounds = election.split("-");
        try
        {
            electionMinMs = Long.parseLong(bounds[0].trim());
            electionMaxMs = bounds.length > 1 ? Long.parseLong(bounds[1].trim()) : electionMinMs * 2;
        }
        catch (final NumberFormatException ex)
        {
            throw fail("election.timeout.ms", election, "must be MIN-MAX in milliseconds, e.g. 300-600");
        }
        if (bounds.length > 2 || electionMinMs < 10 || electionMaxMs <= electionMinMs)
        {
            throw fail("election.timeout.ms", election, "must be MIN-MAX with 10 <= MIN < MAX");
        }
        heartbeatMs = number("heartbeat.ms", "50", 1, electionMinMs - 1);
        if (idle.equals("yield-wait") && (threading != ThreadingMode.INVOKER || !embeddedDriver))
        {
            throw fail("idle", idle, "needs threading=INVOKER and media.driver=embedded (it waits on the sockets of the " +
                "driver its thread runs); this node has threading=" + threading + " and media.driver=" + (embeddedDriver ? "embedded" : "external"));
        }
        snapshotEvery = number("snapshot.every", "100000", 0, Long.MAX_VALUE);
        snapshotLogRatio = decimal("snapshot.log.ratio", Double.toString(io.ringraft.RaftConfig.DEFAULT_SNAPSHOT_LOG_RATIO), 0, 1_000_000);
        plantedBug = enumValue(PLANTED_BUG, PlantedBug.class, PlantedBug.NONE);
        service = settings.getOrDefault("service", DEFAULT_SERVICE).trim();
        if (service.isEmpty())
        {
            throw fail("service", service, "must name a class implementing io.ringraft.service.ClusteredService");
        }
        sessionTimeoutMs = number("session.timeout.ms", "10000", 100, Long.MAX_VALUE / 1_000_000);
        maxSessions = (int)number("max.sessions", "1024", 1, 1 << 20);
        clusterKeyFile = authFile(AUTH_CLUSTER_KEY_FILE, anyMember, ClusterKeys::load);
        clientCredentialsFile = authFile(AUTH_CLIENT_CREDENTIALS_FILE, anyMember, ClientCredentials::load);
        final String required = settings.getOrDefault(AUTH_CLIENT_REQUIRED, "false").trim();
        if (!required.equals("true") && !required.equals("false"))
        {
            throw fail(AUTH_CLIENT_REQUIRED, required, "must be true or false");
        }
        clientAuthRequired = required.equals("true");
        if (clientAuthRequired && !settings.containsKey(AUTH_CLIENT_CREDENTIALS_FILE))
        {
            throw fail(AUTH_CLIENT_REQUIRED, required, "needs " + AUTH_CLIENT_CREDENTIALS_FILE + ", the clients to let in");
        }
    }

    /**
     * A file of keys: read and checked now (a node's), or only named (a client reading the config,
     * which does not hold the node's keys).
     *
     * @throws CliException naming the setting and its value if the file is missing, unreadable or invalid
     */
    private Path authFile(final String key, final boolean clientOnly, final java.util.function.Function<Path, ?> loader)
    {
        final String value = settings.get(key);
        if (value == null)
        {
            return null;
        }
        if (value.isBlank())
        {
            throw fail(key, value, "must name a file");
        }
        final Path file = Paths.get(value.trim());
        if (!clientOnly)
        {
            try
            {
                loader.apply(file);
            }
            catch (final IllegalArgumentException ex)
            {
                // The loaders name the file and the line, never a key; the cause of an unreadable file is kept short.
                final String message = ex.getMessage();
                final int newline = message.indexOf('\n');
                throw fail(key, value, "is refused: " + (newline >= 0 ? message.substring(0, newline) : message));
            }
        }
        return file;
    }

    /**
     * Reads a configuration file.
     *
     * @param file       the file
     * @param idOverride the node id from the command line, or null to take {@code node.id}
     * @return the configuration
     * @throws CliException if the file cannot be read or a setting is wrong
     */
    public static NodeConfig load(final Path file, final Long idOverride)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new CliException("config " + file + ": cannot be read (" + ex.getClass().getSimpleName() + ": " + ex.getMessage() + ")");
        }
        return parse(lines, "config " + file, idOverride, false);
    }

    /**
     * Reads a configuration file for a client: {@code node.id} may be absent (the first member
     * is taken then), and nothing is checked on this machine.
     *
     * @param file the file
     * @return the configuration
     */
    public static NodeConfig loadForClient(final Path file)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new CliException("config " + file + ": cannot be read (" + ex.getClass().getSimpleName() + ": " + ex.getMessage() + ")");
        }
        return parse(lines, "config " + file, null, true);
    }

    /**
     * Parses configuration lines.
     *
     * @param lines      the lines
     * @param source     names them in messages
     * @param idOverride the node id, or null to take {@code node.id}
     * @param anyMember  true to take the first member when neither gives an id
     * @return the configuration
     */
    static NodeConfig parse(final List<String> lines, final String source, final Long idOverride, final boolean anyMember)
    {
        final Map<String, String> settings = new LinkedHashMap<>();
        final Map<String, Integer> lineOf = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++)
        {
            final int hash = lines.get(i).indexOf('#');
            final String line = (hash >= 0 ? lines.get(i).substring(0, hash) : lines.get(i)).trim();
            if (line.isEmpty())
            {
                continue;
            }
            final int eq = line.indexOf('=');
            if (eq <= 0)
            {
                throw new CliException(source + " line " + (i + 1) + ": '" + line + "' is not key = value");
            }
            final String key = line.substring(0, eq).trim();
            final String value = line.substring(eq + 1).trim();
            final Integer earlier = lineOf.putIfAbsent(key, i + 1);
            if (earlier != null)
            {
                throw new CliException(source + " line " + (i + 1) + ": " + key + " is set twice (also line " + earlier + ")" +
                    (key.startsWith("member.") ? ": duplicate node id" : ""));
            }
            settings.put(key, value);
        }
        return new NodeConfig(source, settings, idOverride, anyMember);
    }

    /**
     * @param settings   key-value settings as a file holds them
     * @param source     names them in messages
     * @param idOverride the node id, or null to take {@code node.id}
     * @return the configuration
     */
    public static NodeConfig of(final Map<String, String> settings, final String source, final Long idOverride)
    {
        return new NodeConfig(source, settings, idOverride, false);
    }

    /** @return the settings in the file format, for writing a file */
    public String render()
    {
        final StringBuilder sb = new StringBuilder("# ringraft node configuration\n");
        settings.forEach((k, v) -> sb.append(k).append(" = ").append(v).append('\n'));
        return sb.toString();
    }

    /** @return the settings, as given */
    public Map<String, String> settings()
    {
        return settings;
    }

    /** @return where the configuration came from */
    public String source()
    {
        return source;
    }

    /** @return the cluster id every member and client must name */
    public int clusterId()
    {
        return clusterId;
    }

    /** @return this node's id */
    public long nodeId()
    {
        return nodeId;
    }

    /** @return every member by id */
    public Map<Long, Member> members()
    {
        return members;
    }

    /** @return this node's member entry */
    public Member self()
    {
        return members.get(nodeId);
    }

    /** @return this node's data directory */
    public Path dataDir()
    {
        return dataDirOf(nodeId);
    }

    /**
     * @param id a member
     * @return its data directory, if {@code data.dir} holds {@code {id}}; else this node's
     */
    public Path dataDirOf(final long id)
    {
        return Paths.get(dataDirPattern.replace("{id}", Long.toString(id)));
    }

    /** @return true if {@code data.dir} names every member's directory through {@code {id}} */
    public boolean dataDirPerMember()
    {
        return dataDirPattern.contains("{id}");
    }

    /** @return what the log makes durable before the node acknowledges an entry */
    public DurabilityPolicy durability()
    {
        return durability;
    }

    /** @return {@code storage.sync.delay.ms}: an extra delay before every log sync (a slow disk, for fault tests), 0 for none */
    public long syncDelayMs()
    {
        return syncDelayMs;
    }

    /**
     * @return {@code storage.sync.delay.file} ({@code {id}} replaced by the node id): a file whose number of
     *         milliseconds replaces {@link #syncDelayMs()} while the node runs; null if not set
     */
    public Path syncDelayFile()
    {
        return syncDelayFile;
    }

    /** @return how the node's agents get threads */
    public ThreadingMode threading()
    {
        return threading;
    }

    /** @return a supplier of the configured idle strategy */
    public Supplier<IdleStrategy> idleStrategy()
    {
        return idleStrategy(idle);
    }

    /** @return true if the node launches its own media driver */
    public boolean embeddedDriver()
    {
        return embeddedDriver;
    }

    /** @return the external driver's directory, or null */
    public String aeronDir()
    {
        return aeronDir;
    }

    /** @return the MTU of the node's publications; {@link PublicationChannels#MTU_AUTO} chooses by endpoint */
    public int mtu()
    {
        return mtu;
    }

    /** @return the term length of every Aeron publication, in bytes */
    public int termLength()
    {
        return termLength;
    }

    /** @return the lower bound of the randomized election timeout */
    public long electionMinMs()
    {
        return electionMinMs;
    }

    /** @return the upper bound of the randomized election timeout */
    public long electionMaxMs()
    {
        return electionMaxMs;
    }

    /** @return the leader's heartbeat interval */
    public long heartbeatMs()
    {
        return heartbeatMs;
    }

    /** @return entries applied between snapshots, 0 for never */
    public long snapshotEvery()
    {
        return snapshotEvery;
    }

    /** @return the log's growth, per byte of a large last snapshot, before the next one (RaftConfig.snapshotLogRatio) */
    public double snapshotLogRatio()
    {
        return snapshotLogRatio;
    }

    /** @return the planted bug of a test run ({@value #PLANTED_BUG}), {@link PlantedBug#NONE} otherwise */
    public PlantedBug plantedBug()
    {
        return plantedBug;
    }

    /** @return the class name of the hosted service */
    public String service()
    {
        return service;
    }

    /** @return the session timeout in milliseconds */
    public long sessionTimeoutMs()
    {
        return sessionTimeoutMs;
    }

    /** @return open client sessions at most */
    public int maxSessions()
    {
        return maxSessions;
    }

    /** @return the cluster key file ({@value #AUTH_CLUSTER_KEY_FILE}), or null */
    public Path clusterKeyFile()
    {
        return clusterKeyFile;
    }

    /** @return the client credentials file ({@value #AUTH_CLIENT_CREDENTIALS_FILE}), or null */
    public Path clientCredentialsFile()
    {
        return clientCredentialsFile;
    }

    /** @return true if unsigned client and admin frames are refused ({@value #AUTH_CLIENT_REQUIRED}) */
    public boolean clientAuthRequired()
    {
        return clientAuthRequired;
    }

    /** @return every member's raft endpoint by id */
    public Map<Long, String> raftEndpoints()
    {
        final Map<Long, String> result = new TreeMap<>();
        members.forEach((id, m) -> result.put(id, m.raftEndpoint()));
        return result;
    }

    /** @return every member's client endpoint by id */
    public Map<Long, String> clientEndpoints()
    {
        final Map<Long, String> result = new TreeMap<>();
        members.forEach((id, m) -> result.put(id, m.clientEndpoint()));
        return result;
    }

    /**
     * @param endpoint "host:port"
     * @param what     the setting it came from, for the message
     * @return the resolved address
     * @throws CliException if it does not parse or the host does not resolve
     */
    static InetSocketAddress address(final String endpoint, final String what)
    {
        final int colon = endpoint.lastIndexOf(':');
        if (colon <= 0 || colon == endpoint.length() - 1)
        {
            throw new CliException(what + "=" + endpoint + ": not host:port");
        }
        final int port;
        try
        {
            port = Integer.parseInt(endpoint.substring(colon + 1));
        }
        catch (final NumberFormatException ex)
        {
            throw new CliException(what + "=" + endpoint + ": the port is not a number");
        }
        if (port < 1 || port > 65535)
        {
            throw new CliException(what + "=" + endpoint + ": the port must be in 1..65535");
        }
        final String host = endpoint.substring(0, colon).replace("[", "").replace("]", "");
        final InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved())
        {
            throw new CliException(what + "=" + endpoint + ": unknown host " + host);
        }
        return address;
    }

    private Member member(final String key, final String value)
    {
        final long id;
        try
        {
            id = Long.parseLong(key.substring("member.".length()));
        }
        catch (final NumberFormatException ex)
        {
            throw fail(key, value, "the node id after 'member.' is not a number");
        }
        if (id <= 0)
        {
            throw fail(key, value, "node ids must be positive");
        }
        final String[] parts = value.trim().split("[\\s,]+");
        if (parts.length != 2)
        {
            throw fail(key, value, "must be 'raftHost:port clientHost:port'");
        }
        address(parts[0], source + ": " + key + " raft endpoint");
        address(parts[1], source + ": " + key + " client endpoint");
        return new Member(id, parts[0], parts[1]);
    }

    private double decimal(final String key, final String defaultValue, final double min, final double max)
    {
        final String value = settings.getOrDefault(key, defaultValue);
        final double parsed;
        try
        {
            parsed = Double.parseDouble(value.trim());
        }
        catch (final NumberFormatException ex)
        {
            throw fail(key, value, "is not a number");
        }
        if (!(parsed >= min && parsed <= max))
        {
            throw fail(key, value, "must be in " + min + ".." + max);
        }
        return parsed;
    }

    private long number(final String key, final String defaultValue, final long min, final long max)
    {
        final String value = settings.getOrDefault(key, defaultValue);
        if (value == null)
        {
            throw new CliException(source + ": " + key + " is required");
        }
        final long parsed;
        try
        {
            parsed = Sizes.parse(value);
        }
        catch (final NumberFormatException | ArithmeticException ex)
        {
            throw fail(key, value, "is not a number");
        }
        if (parsed < min || parsed > max)
        {
            throw fail(key, value, "must be in " + min + ".." + max);
        }
        return parsed;
    }

    private String required(final String key)
    {
        final String value = settings.get(key);
        if (value == null || value.isBlank())
        {
            throw new CliException(source + ": " + key + " is required");
        }
        return value.trim();
    }

    private <E extends Enum<E>> E enumValue(final String key, final Class<E> type, final E defaultValue)
    {
        final String value = settings.get(key);
        if (value == null)
        {
            return defaultValue;
        }
        try
        {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        }
        catch (final IllegalArgumentException ex)
        {
            final List<String> names = new ArrayList<>();
            for (final E e : type.getEnumConstants())
            {
                names.add(e.name());
            }
            throw fail(key, value, "must be one of " + String.join(", ", names));
        }
    }

    private Supplier<IdleStrategy> idleStrategy(final String name)
    {
        switch (name)
        {
            case "backoff":
                return () -> new BackoffIdleStrategy(10, 20, 1_000, 1_000_000);
            case "yield-park":
                return YieldThenParkIdleStrategy::new;
            case "yield-wait":
                // Waits of at most a quarter heartbeat (and 10 ms) once idle, so the leader's heartbeats keep their pace.
                return () -> new YieldThenWaitIdleStrategy(YieldThenWaitIdleStrategy.DEFAULT_MAX_SPINS,
                    YieldThenWaitIdleStrategy.DEFAULT_YIELD_NANOS, 1, YieldThenWaitIdleStrategy.DEFAULT_LONG_IDLE_NANOS,
                    Math.max(1, Math.min(YieldThenWaitIdleStrategy.DEFAULT_LONG_WAIT_MILLIS, heartbeatMs / 4)));
            case "yielding":
                return YieldingIdleStrategy::new;
            case "sleeping":
                return () -> new SleepingMillisIdleStrategy(1);
            case "busy-spin":
                return BusySpinIdleStrategy::new;
            default:
                throw fail("idle", name, "must be one of backoff, yield-park, yield-wait, yielding, sleeping, busy-spin");
        }
    }

    private CliException fail(final String key, final String value, final String problem)
    {
        return new CliException(source + ": " + key + "=" + value + " " + problem);
    }
}
