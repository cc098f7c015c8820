package io.ringraft.bench.aeroncluster;

import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.archive.Archive;
import io.aeron.archive.ArchiveThreadingMode;
import io.aeron.archive.client.AeronArchive;
import io.aeron.cluster.ClusteredMediaDriver;
import io.aeron.cluster.ConsensusModule;
import io.aeron.cluster.client.AeronCluster;
import io.aeron.cluster.codecs.CloseReason;
import io.aeron.cluster.service.ClientSession;
import io.aeron.cluster.service.Cluster;
import io.aeron.cluster.service.ClusteredService;
import io.aeron.cluster.service.ClusteredServiceContainer;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.Header;
import io.ringraft.bench.aeron.BenchPorts;
import io.ringraft.bench.deployed.Shape;
import org.agrona.CloseHelper;
import org.agrona.DirectBuffer;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.NoOpLock;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Aeron Cluster in shape A, beside ringraft in the same run: three members in this JVM, each a
 * {@link ClusteredMediaDriver} (its own media driver, archive and consensus module) with a
 * {@link ClusteredServiceContainer} running an echo service (it replies to each command with the command,
 * once the command is in the log and the service has it), the archive on disk without sync (Aeron's default
 * {@code fileSyncLevel=0}, like ringraft's durability NONE), and an {@link AeronCluster} client with a media
 * driver of its own. Settings are Aeron's defaults, as in Aeron's own cluster sample
 * ({@code BasicAuctionClusteredServiceNode}): media drivers and archives in SHARED threading mode, every idle
 * strategy Aeron's backoff; publications with ringraft's default term length (1 MiB). Only with the
 * {@code aeron-cluster} Maven profile.
 */
public final class AeronClusterShape implements Shape
{
    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final List<Path> dirs = new ArrayList<>();
    private AeronCluster client;
    private Replies replies;
    private Map<String, String> settings;

    /** For {@link io.ringraft.bench.deployed.DeployedShapesBench}, which loads it by name. */
    public AeronClusterShape()
    {
    }

    @Override
    public void start(final Map<String, String> settings, final Replies replies) throws Exception
    {
        this.settings = settings;
        this.replies = replies;
        final Path parent = Paths.get(System.getProperty("ringraft.bench.dir", System.getProperty("java.io.tmpdir")));
        final int[][] ports = new int[3][5];
        final StringBuilder members = new StringBuilder();
        final StringBuilder ingress = new StringBuilder();
        for (int i = 0; i < 3; i++)
        {
            for (int p = 0; p < 5; p++)
            {
                ports[i][p] = BenchPorts.freePort();
            }
            members.append(i == 0 ? "" : "|").append(i).append(",localhost:").append(ports[i][0]).append(",localhost:").append(ports[i][1])
                .append(",localhost:").append(ports[i][2]).append(",localhost:").append(ports[i][3]).append(",localhost:").append(ports[i][4]);
            ingress.append(i == 0 ? "" : ",").append(i).append("=localhost:").append(ports[i][0]);
        }
        final ThreadingMode driverThreading = ThreadingMode.valueOf(settings.getOrDefault("driverThreading", "SHARED"));
        final String termLength = "term-length=1m";
        for (int i = 0; i < 3; i++)
        {
            final Path base = Files.createTempDirectory(parent, "aeron-cluster-member-" + i + "-");
            dirs.add(base);
            final String aeronDir = shmDir("aeron-cluster-" + i);
            final MediaDriver.Context driver = new MediaDriver.Context()
                .aeronDirectoryName(aeronDir)
                .threadingMode(driverThreading)
                .termBufferSparseFile(true)
                .publicationTermBufferLength(1024 * 1024)
                .ipcTermBufferLength(1024 * 1024)
                .dirDeleteOnStart(true)
                .dirDeleteOnShutdown(true);
            final Archive.Context archive = new Archive.Context()
                .aeronDirectoryName(aeronDir)
                .archiveDir(base.resolve("archive").toFile())
                .controlChannel("aeron:udp?endpoint=localhost:" + ports[i][4])
                .archiveClientContext(new AeronArchive.Context().controlResponseChannel("aeron:udp?endpoint=localhost:0"))
                .localControlChannel("aeron:ipc?term-length=64k")
                .replicationChannel("aeron:udp?endpoint=localhost:0")
                .recordingEventsEnabled(false)
                .archiveId(i)
                .deleteArchiveOnStart(true)
                .threadingMode(ArchiveThreadingMode.SHARED);
            final AeronArchive.Context archiveClient = new AeronArchive.Context()
                .lock(NoOpLock.INSTANCE)
                .controlRequestChannel(archive.localControlChannel())
                .controlRequestStreamId(archive.localControlStreamId())
                .controlResponseChannel(archive.localControlChannel())
                .aeronDirectoryName(aeronDir);
            final File clusterDir = base.resolve("cluster").toFile();
            final ConsensusModule.Context consensus = new ConsensusModule.Context()
                .clusterMemberId(i)
                .clusterMembers(members.toString())
                .clusterDir(clusterDir)
                .deleteDirOnStart(true)
                .ingressChannel("aeron:udp?" + termLength)
                .logChannel("aeron:udp?" + termLength + "|control-mode=manual|control=localhost:" + ports[i][2])
                .replicationChannel("aeron:udp?endpoint=localhost:0")
                .archiveContext(archiveClient.clone());
            closeables.add(0, ClusteredMediaDriver.launch(driver, archive, consensus));
            closeables.add(0, ClusteredServiceContainer.launch(new ClusteredServiceContainer.Context()
                .aeronDirectoryName(aeronDir)
                .archiveContext(archiveClient.clone())
                .clusterDir(clusterDir)
                .clusteredService(new EchoService())));
        }
        final String clientDir = shmDir("aeron-cluster-client");
        closeables.add(MediaDriver.launch(new MediaDriver.Context()
            .aeronDirectoryName(clientDir)
            .threadingMode(driverThreading)
            .termBufferSparseFile(true)
            .publicationTermBufferLength(1024 * 1024)
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)));
        client = AeronCluster.connect(new AeronCluster.Context()
            .aeronDirectoryName(clientDir)
            .ingressChannel("aeron:udp?" + termLength)
            .ingressEndpoints(ingress.toString())
            .egressChannel("aeron:udp?endpoint=localhost:0")
            .messageTimeoutNs(60_000_000_000L)
            .egressListener((clusterSessionId, timestamp, buffer, offset, length, header) -> this.replies.onReply(buffer.getLong(offset), true)));
        closeables.add(0, client);
    }

    private static String shmDir(final String name)
    {
        final File shm = new File("/dev/shm");
        final String parent = shm.isDirectory() && shm.canWrite() ? shm.getPath() : System.getProperty("java.io.tmpdir");
        return new File(parent, name + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime()).getPath();
    }

    @Override
    public boolean offer(final DirectBuffer payload, final int length)
    {
        return client.offer(payload, 0, length) > 0;
    }

    @Override
    public int poll()
    {
        return client.pollEgress();
    }

    @Override
    public String describe()
    {
        return "Aeron Cluster 1.46.7 shape A (3 ClusteredMediaDrivers + echo services, archive on disk without sync, client with its own " +
            "driver), drivers " + settings.getOrDefault("driverThreading", "SHARED") + ", archives SHARED, leader=" +
            (client != null ? client.leaderMemberId() : -1);
    }

    @Override
    public void close()
    {
        for (final AutoCloseable c : closeables)
        {
            CloseHelper.quietClose(c);
        }
        for (final Path dir : dirs)
        {
            IoUtil.delete(dir.toFile(), true);
        }
    }

    /** Replies to each command with the command itself once it is in the log. */
    private static final class EchoService implements ClusteredService
    {
        private final IdleStrategy idle = new BackoffIdleStrategy();
        private Cluster cluster;

        @Override
        public void onStart(final Cluster cluster, final Image snapshotImage)
        {
            this.cluster = cluster;
        }

        @Override
        public void onSessionOpen(final ClientSession session, final long timestamp)
        {
        }

        @Override
        public void onSessionClose(final ClientSession session, final long timestamp, final CloseReason closeReason)
        {
        }

        @Override
        public void onSessionMessage(final ClientSession session, final long timestamp, final DirectBuffer buffer, final int offset,
            final int length, final Header header)
        {
            // Every member's service sees the command; only the leader's session publication is connected to the client.
            idle.reset();
            while (session.offer(buffer, offset, length) < 0)
            {
                if (cluster.role() != Cluster.Role.LEADER)
                {
                    return;
                }
                idle.idle();
            }
        }

        @Override
        public void onTimerEvent(final long correlationId, final long timestamp)
        {
        }

        @Override
        public void onTakeSnapshot(final ExclusivePublication snapshotPublication)
        {
        }

        @Override
        public void onRoleChange(final Cluster.Role newRole)
        {
        }

        @Override
        public void onTerminate(final Cluster cluster)
        {
        }
    }
}
