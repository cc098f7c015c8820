package io.ringraft.server;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.client.AdminOutcome;
import io.ringraft.client.RingraftClient;
import io.ringraft.storage.DurabilityPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ringraft admin} against a three-node cluster in this JVM: a learner added through a
 * follower (redirected), promoted and removed; and bad inputs (unknown id, duplicate endpoint,
 * unreachable endpoint, a learner that has not caught up, a change while another is in flight,
 * removing the last voter's peers): one clear line each, exit 1, the membership unchanged.
 */
class AdminCommandTest
{
    private static final int CLUSTER_ID = 91;

    @TempDir
    Path dir;

    private LocalCluster cluster;

    @AfterEach
    void stop()
    {
        if (cluster != null)
        {
            cluster.close();
        }
    }

    private String[] admin(final String... args)
    {
        final String[] full = new String[args.length + 5];
        full[0] = "admin";
        System.arraycopy(args, 0, full, 1, args.length);
        full[args.length + 1] = "--config";
        full[args.length + 2] = cluster.configFile(1).toString();
        full[args.length + 3] = "--aeron-dir";
        full[args.length + 4] = cluster.sharedAeronDirectory();
        return full;
    }

    private Membership membership() throws InterruptedException
    {
        return AdminTests.leader(cluster).raft().metrics().membership();
    }

    private long follower() throws InterruptedException
    {
        return AdminTests.follower(cluster);
    }

    /** A refusal: exit 1, one line on stderr that says why, nothing changed. */
    private void assertRefused(final Cli.Result r, final String reason, final Membership before) throws InterruptedException
    {
        assertEquals(1, r.status(), r.toString());
        assertEquals(1, r.errLines().size(), "one line: " + r);
        assertTrue(r.errLines().get(0).startsWith("ringraft admin: "), r.toString());
        assertTrue(r.errLines().get(0).contains(reason), "says '" + reason + "': " + r);
        assertEquals(before, membership(), "nothing changed");
    }

    @Test
    void membershipOperationsThroughAnyMemberAndBadInputsRefusedWithOneLineAndNothingChanged() throws Exception
    {
        cluster = new LocalCluster(3, CLUSTER_ID, dir, DurabilityPolicy.NONE, false, Map.of(), false);
        cluster.startAll();
        final NodeConfig four = cluster.addJoiner(4, Map.of());
        cluster.start(4);
        final String fourRaft = four.self().raftEndpoint();
        final String fourClient = four.self().clientEndpoint();

        // Status from a member; a learner added through a follower is redirected to the leader.
        final Cli.Result status = Cli.run(admin("status"));
        assertEquals(0, status.status(), status.toString());
        assertTrue(status.out().contains("voters=[1, 2, 3]"), status.toString());
        final long follower = follower();
        final Cli.Result add = Cli.run("admin", "add-learner", "4", fourRaft, fourClient, "--endpoint",
            cluster.clientEndpoints().get(follower), "--aeron-dir", cluster.sharedAeronDirectory());
        assertEquals(0, add.status(), add.toString());
        assertTrue(membership().isLearner(4), "node 4 is a learner");
        assertEquals(fourRaft + " " + fourClient, membership().endpoints().get(4L), "its endpoints are in the log");

        // Bad inputs: one line each, nothing changed.
        Membership before = membership();
        assertRefused(Cli.run(admin("remove", "9")), "node 9 is not a member", before);
        assertRefused(Cli.run(admin("promote", "9")), "node 9 is not a member", before);
        assertRefused(Cli.run(admin("transfer", "9")), "9", before);
        final NodeConfig five = cluster.addJoiner(5, Map.of());
        cluster.start(5);
        assertRefused(Cli.run(admin("add-learner", "5", cluster.config(1).self().raftEndpoint(), five.self().clientEndpoint())),
            "is already used by node 1", before);
        assertRefused(Cli.run(admin("add-learner", "4", fourRaft, fourClient)), "node 4 is already a member", before);
        assertRefused(Cli.run(admin("add-learner", "7", "127.0.0.1:9", "127.0.0.1:11", "--timeout", "1s")),
            "node 7 does not answer at 127.0.0.1:11", before);
        assertRefused(Cli.run(admin("add-learner", "6", "127.0.0.1:9", five.self().clientEndpoint(), "--timeout", "2s")),
            "is node 5, not node 6", before);

        // A learner that stopped falls behind: promoting it is refused, waiting for it times out; nothing changes.
        cluster.stop(4);
        AdminTests.writeMany(cluster, CLUSTER_ID, 1_500);
        before = membership();
        assertRefused(Cli.run(admin("promote", "4")), "node 4 has not caught up", before);
        assertRefused(Cli.run(admin("promote", "4", "--wait", "--timeout", "3s")), "did not catch up in time", before);

        // A change while another is in flight.
        final CompletableFuture<AdminOutcome> slow = CompletableFuture.supplyAsync(() ->
        {
            try (RingraftClient client = RingraftClient.connect(new RingraftClient.Context().endpoints(
                List.of(cluster.clientEndpoints().get(1L))).clusterId(CLUSTER_ID).aeronDirectory(cluster.sharedAeronDirectory())
                .session(false)))
            {
                return client.promote(4, true, Duration.ofMillis(4_000));
            }
        });
        Thread.sleep(1_500);
        assertRefused(Cli.run(admin("remove", "4")), "in flight", before);
        assertEquals(AdminStatus.TIMED_OUT, slow.get(30, TimeUnit.SECONDS).status(), "the slow promotion times out");
        assertEquals(before, membership());

        // A snapshot on the member asked; leadership handed to a follower.
        final Cli.Result snapshot = Cli.run(admin("snapshot"));
        assertEquals(0, snapshot.status(), snapshot.toString());
        assertTrue(snapshot.out().contains("snapshot of node 1 up to index"), snapshot.toString());
        final long target = follower();
        final Cli.Result transfer = Cli.run(admin("transfer", Long.toString(target)));
        assertEquals(0, transfer.status(), transfer.toString());
        assertEquals(target, leaderId(), "node " + target + " leads");

        // Bad usage: exit 2.
        assertEquals(2, Cli.run(admin("promote", "x")).status());
        assertEquals(2, Cli.run(admin("frobnicate")).status());
        assertEquals(2, Cli.run(admin("add-learner", "8", "nohost", "127.0.0.1:1")).status());

        // Removing a learner, then two voters; the last voter cannot be removed.
        assertEquals(0, Cli.run(admin("remove", "4")).status());
        assertTrue(!membership().contains(4), "node 4 removed");
        final long leader = leaderId();
        for (final long id : new long[]{1, 2, 3})
        {
            if (id != leader && membership().voters().length > 1 && membership().isVoter(id))
            {
                final Cli.Result removed = Cli.run(admin("remove", Long.toString(id)));
                assertEquals(0, removed.status(), removed.toString());
            }
        }
        assertEquals(1, membership().voters().length, "one voter left: " + membership());
        assertRefused(Cli.run(admin("--endpoint", cluster.clientEndpoints().get(leader), "remove", Long.toString(leader))),
            "is the last voter", membership());
    }

    private long leaderId() throws InterruptedException
    {
        return AdminTests.leader(cluster).raft().nodeId();
    }
}
