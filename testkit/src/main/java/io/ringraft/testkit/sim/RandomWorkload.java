package io.ringraft.testkit.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The workload of a {@link Simulation} run: clients issuing key-value operations on a few keys (puts,
 * compare-and-sets, deletes, gets through the log, ReadIndex, follower and lease reads), each client
 * starting its next operation a little after the last ended, until the quiet phase.
 */
final class RandomWorkload
{
    private final SimCluster cluster;
    private final SplittableRandom random;
    private final boolean adminWorkload;
    private final boolean leaseReads;
    private final BooleanSupplier quiet;
    private final String[] keys;
    private final List<String> recentValues = new ArrayList<>();
    private long values;

    /**
     * @param cluster       the cluster
     * @param minKeys       the fewest keys
     * @param maxKeys       the most keys (the run draws how many)
     * @param adminWorkload the full workload (follower reads) or the one before it
     * @param leaseReads    whether lease reads are safe in this run
     * @param quiet         true once the quiet phase began: no new operation then
     */
    RandomWorkload(final SimCluster cluster, final int minKeys, final int maxKeys, final boolean adminWorkload,
        final boolean leaseReads, final BooleanSupplier quiet)
    {
        this.cluster = cluster;
        this.random = cluster.random();
        this.adminWorkload = adminWorkload;
        this.leaseReads = leaseReads;
        this.quiet = quiet;
        this.keys = new String[minKeys + random.nextInt(maxKeys - minKeys + 1)];
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] = "k" + i;
        }
    }

    /** @param clients how many clients to start, each within 20 ms */
    void start(final int clients)
    {
        for (int c = 0; c < clients; c++)
        {
            final SimClient client = cluster.client();
            cluster.schedule(cluster.nowNanos() + random.nextLong(20_000_000L), () -> nextOp(client));
        }
    }

    private void nextOp(final SimClient client)
    {
        if (quiet.getAsBoolean())
        {
            return;
        }
        final String key = keys[random.nextInt(keys.length)];
        final int dice = random.nextInt(100);
        final SimOp op;
        if (dice < 35)
        {
            op = client.put(key, newValue(client));
        }
        else if (dice < 55)
        {
            final String expected = recentValues.isEmpty() || random.nextInt(4) == 0 ? null :
                recentValues.get(random.nextInt(recentValues.size()));
            op = client.cas(key, expected, newValue(client));
        }
        else if (dice < 65)
        {
            op = client.delete(key);
        }
        else if (dice < (adminWorkload ? 75 : 77))
        {
            op = client.get(key);
        }
        else if (dice < (adminWorkload ? 84 : 89))
        {
            op = client.read(key);
        }
        else if (adminWorkload && (dice < 92 || !leaseReads))
        {
            op = client.followerRead(key);
        }
        else
        {
            op = client.leaseRead(key);
        }
        op.whenDone(() -> cluster.schedule(cluster.nowNanos() + random.nextLong(15_000_000L), () -> nextOp(client)));
    }

    private String newValue(final SimClient client)
    {
        final String value = "c" + client.id() + "v" + (++values);
        recentValues.add(value);
        if (recentValues.size() > 8)
        {
            recentValues.remove(0);
        }
        return value;
    }

}
