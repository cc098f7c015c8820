package io.ringraft.server;

import io.ringraft.Membership;
import org.agrona.concurrent.ShutdownSignalBarrier;

import java.nio.file.Path;
import java.util.Set;

/**
 * {@code ringraft node --config FILE [--id N] [--join]}: runs one node until SIGTERM or SIGINT, then stops
 * it cleanly (pending requests answered, log and vote closed, the embedded driver's directory
 * deleted).
 */
final class NodeCommand
{
    private NodeCommand()
    {
    }

    static int run(final String[] args)
    {
        final Args a = Args.parse("node", args, Set.of("config", "id"), Set.of("join"));
        a.requirePositional(0, 0, "only flags: --config FILE [--id N] [--join]");
        if (!a.has("config"))
        {
            throw new CliException("ringraft node: --config FILE is required");
        }
        final Long id = a.has("id") ? a.longValue("id", 0, 1, Long.MAX_VALUE) : null;
        final NodeConfig config = NodeConfig.load(Path.of(a.get("config", null)), id);
        final boolean join = a.has("join");
        final RingraftNode node = RingraftNode.start(config, join);
        final Membership log = node.raft().metrics().membership();
        final String disagreement = log == null ? null : MemberEndpoints.disagreement(config, log);
        if (disagreement != null)
        {
            System.err.println("ringraft node " + config.nodeId() + ": " + disagreement);
        }
        if (log == null)
        {
            System.out.println("ringraft node " + config.nodeId() + ": joining, serving nothing until a leader adds it (ringraft admin add-learner " +
                config.nodeId() + " " + config.self().raftEndpoint() + " " + config.self().clientEndpoint() + ")");
        }
        final ShutdownSignalBarrier barrier = new ShutdownSignalBarrier();
        System.out.println("ringraft node " + config.nodeId() + " of cluster " + config.clusterId() + " running: raft " +
            config.self().raftEndpoint() + ", clients " + config.self().clientEndpoint() + ", data " +
            config.dataDir().toAbsolutePath() + ", durability " + config.durability() + ", pid " + ProcessHandle.current().pid());
        System.out.flush();
        barrier.await();
        System.out.println("ringraft node " + config.nodeId() + ": stopping");
        node.close();
        System.out.println("ringraft node " + config.nodeId() + ": stopped");
        System.out.flush();
        return 0;
    }
}
