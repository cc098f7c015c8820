package io.ringraft.server;

import io.ringraft.AdminStatus;
import io.ringraft.Membership;
import io.ringraft.client.AdminOutcome;
import io.ringraft.client.AdminProtocol;
import io.ringraft.client.MemberStatus;
import io.ringraft.client.RingraftClient;
import io.ringraft.storage.DurabilityPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client library's admin operations ({@link RingraftClient#addLearner} and the others)
 * against a three-node cluster in this JVM: status with the membership, a learner added through a
 * follower (redirected), promoted once caught up, a snapshot, a leader transfer, the leader
 * removed (it hands over first); and bad inputs (unknown id, duplicate endpoint, unreachable
 * endpoint, a learner that has not caught up, a change while another is in flight): one typed
 * outcome each, the membership unchanged.
 */
class ClientAdminTest
{
    private static final int CLUSTER_ID = 92;
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

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

    private RingraftClient connect(final List<String> endpoints)
    {
        return RingraftClient.connect(new RingraftClient.Context().endpoints(endpoints).clusterId(CLUSTER_ID)
            .aeronDirectory(cluster.sharedAeronDirectory()).session(false));
    }

    /** One operation through a new client to the original members (the test waits without polling between operations). */
    private AdminOutcome admin(final Function<RingraftClient, AdminOutcome> operation)
    {
        final List<String> endpoints = new ArrayList<>();
        for (final long id : new long[]{1, 2, 3})
        {
            endpoints.add(cluster.clientEndpoints().get(id));
        }
        try (RingraftClient client = connect(endpoints))
        {
            return operation.apply(client);
        }
    }

    private RingraftNode leader() throws InterruptedException
    {
        return AdminTests.leader(cluster);
    }

    private Membership membership() throws InterruptedException
    {
        return leader().raft().metrics().membership();
    }

    private long follower() throws InterruptedException
    {
        return AdminTests.follower(cluster);
    }

    /** A refusal: not OK, the expected status, a message that says why, nothing changed. */
    private void assertRefused(final AdminOutcome r, final int status, final String reason, final Membership before)
        throws InterruptedException
    {
        assertEquals(AdminProtocol.statusName(status), r.statusName(), r.toString());
        assertFalse(r.isOk(), r.toString());
        assertTrue(r.message().contains(reason), "says '" + reason + "': " + r);
        assertFalse(r.message().contains("\n"), "one line: " + r);
        assertEquals(before, membership(), "nothing changed");
    }

    @Test
    void adminOperationsThroughTheClientLibraryWithTypedOutcomes() throws Exception
    {
        cluster = new LocalCluster(3, CLUSTER_ID, dir, DurabilityPolicy.NONE, false, Map.of(), false);
        cluster.startAll();
        final NodeConfig four = cluster.addJoiner(4, Map.of());
        cluster.start(4);
        final String fourRaft = four.self().raftEndpoint();
        final String fourClient = four.self().clientEndpoint();
        leader();

        // Status: the membership, the leader, and the leader's view of each member's progress.
        final AdminOutcome status = admin(c -> c.clusterStatus(TIMEOUT));
        assertTrue(status.isOk(), status.toString());
        assertNotNull(status.view(), status.toString());
        assertArrayEquals(new long[]{1, 2, 3}, status.view().membership().voters(), status.toString());
        assertEquals(3, status.view().membership().endpoints().size(), status.toString());
        assertTrue(status.view().leaderId() > 0, status.toString());
        final AdminOutcome joiner = admin(c -> c.memberStatus(fourClient, TIMEOUT));
        assertTrue(joiner.isOk() && joiner.view().isJoining() && joiner.nodeId() == 4, "node 4 waits to join: " + joiner);

        // A learner added through a follower alone: redirected to the leader.
        final long follower = follower();
        try (RingraftClient viaFollower = connect(List.of(cluster.clientEndpoints().get(follower))))
        {
            final AdminOutcome added = viaFollower.addLearner(4, fourRaft, fourClient, TIMEOUT);
            assertTrue(added.isOk(), added.toString());
            assertTrue(added.index() > 0, added.toString());
            assertNotEquals(follower, added.nodeId(), "answered by the leader: " + added);
        }
        assertTrue(membership().isLearner(4), "node 4 is a learner");
        assertEquals(fourRaft + " " + fourClient, membership().endpoints().get(4L), "its endpoints are in the log");

        // Bad inputs: one typed outcome each, nothing changed; malformed arguments are the caller's error.
        Membership before = membership();
        assertRefused(admin(c -> c.remove(9, TIMEOUT)), AdminStatus.INVALID, "node 9 is not a member", before);
        assertRefused(admin(c -> c.promote(9, false, TIMEOUT)), AdminStatus.INVALID, "node 9 is not a member", before);
        assertRefused(admin(c -> c.transferLeadership(9, TIMEOUT)), AdminStatus.INVALID, "9", before);
        assertRefused(admin(c -> c.changeVoters(new long[]{1, 2, 9}, false, TIMEOUT)), AdminStatus.INVALID, "9", before);
        final NodeConfig five = cluster.addJoiner(5, Map.of());
        cluster.start(5);
        assertRefused(admin(c -> c.addLearner(5, cluster.config(1).self().raftEndpoint(), five.self().clientEndpoint(), TIMEOUT)),
            AdminStatus.INVALID, "is already used by node 1", before);
        assertRefused(admin(c -> c.addLearner(4, fourRaft, fourClient, TIMEOUT)), AdminStatus.INVALID, "node 4 is already a member",
            before);
        assertRefused(admin(c -> c.addLearner(7, "127.0.0.1:9", "127.0.0.1:11", Duration.ofSeconds(1))), AdminStatus.INVALID,
            "node 7 does not answer at 127.0.0.1:11", before);
        assertRefused(admin(c -> c.addLearner(6, "127.0.0.1:9", five.self().clientEndpoint(), Duration.ofSeconds(2))),
            AdminStatus.INVALID, "is node 5, not node 6", before);
        assertThrows(IllegalArgumentException.class, () -> admin(c -> c.addLearner(8, "nohost", "127.0.0.1:1", TIMEOUT)));
        assertThrows(IllegalArgumentException.class, () -> admin(c -> c.remove(0, TIMEOUT)));
        assertThrows(IllegalArgumentException.class, () -> admin(c -> c.changeVoters(new long[0], false, TIMEOUT)));
        assertEquals(before, membership());
        cluster.stop(5);

        // A learner that stopped falls behind: promoting it is refused, waiting for it times out; nothing changes.
        cluster.stop(4);
        AdminTests.writeMany(cluster, CLUSTER_ID, 1_500);
        before = membership();
        assertProgress();
        assertRefused(admin(c -> c.promote(4, false, TIMEOUT)), AdminProtocol.NOT_CAUGHT_UP, "node 4 has not caught up", before);
        assertRefused(admin(c -> c.promote(4, true, Duration.ofSeconds(3))), AdminStatus.TIMED_OUT, "did not catch up in time", before);

        // A change while another is in flight.
        final CompletableFuture<AdminOutcome> slow = CompletableFuture.supplyAsync(() -> admin(c -> c.promote(4, true,
            Duration.ofSeconds(4))));
        Thread.sleep(1_500);
        assertRefused(admin(c -> c.remove(4, TIMEOUT)), AdminStatus.IN_PROGRESS, "in flight", before);
        assertEquals(AdminStatus.TIMED_OUT, slow.get(30, TimeUnit.SECONDS).status(), "the slow promotion times out");
        assertEquals(before, membership());

        // The learner runs again and catches up: promoted, waiting for it; then several operations through one client.
        cluster.start(4);
        final AdminOutcome promoted = admin(c -> c.promote(4, true, TIMEOUT));
        assertTrue(promoted.isOk(), promoted.toString());
        assertArrayEquals(new long[]{1, 2, 3, 4}, membership().voters(), membership().toString());
        final long target = follower();
        try (RingraftClient client = connect(List.of(cluster.clientEndpoints().get(1L), cluster.clientEndpoints().get(2L))))
        {
            final AdminOutcome snapshot = client.snapshot(TIMEOUT);
            assertTrue(snapshot.isOk() && snapshot.index() > 0, snapshot.toString());

            final AdminOutcome transfer = client.transferLeadership(target, TIMEOUT);
            assertTrue(transfer.isOk(), transfer.toString());
            assertEquals(target, leader().raft().nodeId(), "node " + target + " leads");

            // Removing the leader: it hands leadership to another voter first, which removes it.
            final AdminOutcome removed = client.remove(target, TIMEOUT);
            assertTrue(removed.isOk(), removed.toString());
            assertNotEquals(target, removed.nodeId(), "the removal was run by the new leader: " + removed);
            final Membership after = membership();
            assertFalse(after.contains(target), after.toString());
            assertEquals(3, after.voters().length, after.toString());
            assertNotEquals(target, leader().raft().nodeId());

            final AdminOutcome shown = client.clusterStatus(TIMEOUT);
            assertTrue(shown.isOk(), shown.toString());
            assertEquals(after, shown.view().membership(), "the status shows the new membership: " + shown);
        }
    }

    /** The leader's view: node 4 (stopped) has not caught up, every running voter has. */
    private void assertProgress() throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline)
        {
            final String endpoint = cluster.clientEndpoints().get(leader().raft().nodeId());
            final AdminOutcome r = admin(c -> c.memberStatus(endpoint, TIMEOUT));
            assertTrue(r.isOk(), r.toString());
            final MemberStatus view = r.view();
            if (!view.isLeader())
            {
                continue; // leadership moved in between: ask the new leader
            }
            assertFalse(view.hasCaughtUp(4), "node 4 is behind: " + view);
            for (final long voter : view.membership().voters())
            {
                if (voter != view.nodeId())
                {
                    assertTrue(view.hasCaughtUp(voter), "voter " + voter + " caught up: " + view);
                }
            }
            return;
        }
        throw new AssertionError("no leader answered its status");
    }
}
