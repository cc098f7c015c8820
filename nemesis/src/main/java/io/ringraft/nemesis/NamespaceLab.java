package io.ringraft.nemesis;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * One Linux network namespace per node, each joined by a veth pair to a bridge that this run
 * creates; the bridge has an address too, so that the clients in this process reach every node
 * directly. Nothing is routed anywhere else: the addresses are a private /24 that exists only on
 * the bridge and inside the namespaces.
 * <p>
 * Names start with {@value #PREFIX} and this run's id ({@code rgn-1a2b-br}, {@code rgn-1a2b-n1},
 * {@code rgn-1a2b-h1}); a marker file in the temporary directory names the process that owns a
 * run id. {@link #close()} (also from a shutdown hook) removes the namespaces, which takes their
 * veth ends along, and the bridge; at start, leftovers of runs whose owner is gone are removed.
 * <p>
 * Links are cut with nftables rules in the receiving node's namespace ({@code ip saddr ... drop},
 * random loss with {@code numgen random}); without the {@code nft} program, with {@code tc} on the
 * sending side (a u32 filter steering the peer's packets into an htb class whose queue is a
 * {@code pfifo limit 0}), which
 * needs no package but cannot drop at random.
 */
final class NamespaceLab implements NetworkLab
{
    /** Every name this lab creates starts with it. */
    static final String PREFIX = "rgn-";

    /** Why namespaces cannot be used: the run falls back to loopback after saying so in one line. */
    static final class Unavailable extends Exception
    {
        private static final long serialVersionUID = 1L;

        Unavailable(final String message)
        {
            super(message);
        }
    }

    /** How links are cut. */
    enum Cutter
    {
        /** nftables rules in each namespace (cuts and random loss). */
        NFT,
        /** tc u32 filters into a zero-length queue (cuts only). */
        TC
    }

    private final String runId;
    private final int nodes;
    private final int subnet;
    private final Cutter cutter;
    private final String cutterNote;
    private final Path marker;
    private final Thread hook;
    private DelayRelay relay;
    private boolean closed;

    private NamespaceLab(final String runId, final int nodes, final int subnet, final Cutter cutter, final String cutterNote,
        final Path marker)
    {
        this.runId = runId;
        this.nodes = nodes;
        this.subnet = subnet;
        this.cutter = cutter;
        this.cutterNote = cutterNote;
        this.marker = marker;
        this.hook = new Thread(this::close, "ringraft-nemesis-network-cleanup");
    }

    /** @return true if this process may create network namespaces (Linux, root, the ip program) */
    static boolean permitted()
    {
        return whyNot() == null;
    }

    /** @return why this process may not create network namespaces, or null if it may */
    static String whyNot()
    {
        if (!"Linux".equalsIgnoreCase(System.getProperty("os.name")))
        {
            return "network namespaces need Linux (this is " + System.getProperty("os.name") + ")";
        }
        final String uid = Shell.run("id", "-u").output();
        if (!"0".equals(uid))
        {
            return "network namespaces need root (running as uid " + uid + ")";
        }
        if (!Shell.onPath("ip"))
        {
            return "the ip program (iproute2) is missing";
        }
        return null;
    }

    /**
     * Creates the bridge and one namespace per node.
     *
     * @param nodes     how many nodes
     * @param preferred the cutter to use if it is available ({@code null}: nft, installed when missing, else tc)
     * @param log       receives one line per notable decision (nft installed, tc used instead)
     * @return the lab, with a shutdown hook that removes it
     * @throws Unavailable if this process may not create namespaces (not root, no {@code ip}, refused)
     */
    static NamespaceLab create(final int nodes, final Cutter preferred, final java.util.function.Consumer<String> log)
        throws Unavailable
    {
        final String why = whyNot();
        if (why != null)
        {
            throw new Unavailable(why);
        }
        removeLeftovers(log);
        Cutter cutter = preferred == null ? Cutter.NFT : preferred;
        String note = "";
        if (cutter == Cutter.NFT && !Shell.onPath("nft"))
        {
            if (Shell.onPath("apt-get"))
            {
                log.accept("nemesis: nft is missing: installing the nftables package (apt-get install -y nftables)");
                Shell.run(List.of("apt-get", "install", "-y", "-q", "nftables"), null);
            }
            if (!Shell.onPath("nft"))
            {
                if (preferred == Cutter.NFT)
                {
                    throw new Unavailable("nft is missing and the nftables package could not be installed");
                }
                cutter = Cutter.TC;
                note = " (nft missing and not installable: cuts with tc, no random loss)";
                log.accept("nemesis: nft is missing and could not be installed: links are cut with tc u32 filters, no random loss");
            }
        }
        if (cutter == Cutter.TC && !Shell.onPath("tc"))
        {
            throw new Unavailable("neither nft nor tc is available to cut links");
        }
        final SplittableRandom random = new SplittableRandom();
        final String runId = String.format(Locale.ROOT, "%04x", random.nextInt(0x10000));
        final Path marker = markerDir().resolve(runId + ".pid");
        try
        {
            Files.createDirectories(marker.getParent());
            Files.writeString(marker, Long.toString(ProcessHandle.current().pid()), StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new Unavailable("cannot write the run marker " + marker + ": " + ex.getMessage());
        }
        final NamespaceLab lab = new NamespaceLab(runId, nodes, freeSubnet(random), cutter, note, marker);
        Runtime.getRuntime().addShutdownHook(lab.hook);
        try
        {
            lab.build();
        }
        catch (final RuntimeException ex)
        {
            lab.close();
            final String message = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            throw new Unavailable("network namespaces could not be set up: " + message.lines().findFirst().orElse(message));
        }
        return lab;
    }

    private void build()
    {
        final String bridge = name("br");
        Shell.check("ip", "link", "add", bridge, "type", "bridge");
        Shell.check("ip", "addr", "add", address(254) + "/24", "dev", bridge);
        Shell.check("ip", "link", "set", bridge, "up");
        for (int i = 1; i <= nodes; i++)
        {
            final String ns = namespace(i);
            final String hostEnd = name("h" + i);
            final String peerEnd = name("p" + i);
            Shell.check("ip", "netns", "add", ns);
            Shell.check("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", peerEnd);
            Shell.check("ip", "link", "set", peerEnd, "netns", ns);
            Shell.check("ip", "-n", ns, "link", "set", peerEnd, "name", "eth0");
            Shell.check("ip", "-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0");
            Shell.check("ip", "-n", ns, "link", "set", "eth0", "up");
            Shell.check("ip", "-n", ns, "link", "set", "lo", "up");
            Shell.check("ip", "link", "set", hostEnd, "master", bridge);
            Shell.check("ip", "link", "set", hostEnd, "up");
            if (cutter == Cutter.TC)
            {
                // An htb root whose default class passes everything; only the filters steer packets into class 1:20,
                // whose queue has length 0 (this kernel has htb but neither prio nor netem).
                final List<String> tc = List.of("ip", "netns", "exec", ns, "tc");
                tcCheck(tc, "qdisc", "add", "dev", "eth0", "root", "handle", "1:", "htb", "default", "10", "r2q", "100000");
                tcCheck(tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:10", "htb", "rate", "10gbit");
                tcCheck(tc, "class", "add", "dev", "eth0", "parent", "1:", "classid", "1:20", "htb", "rate", "10gbit");
                tcCheck(tc, "qdisc", "add", "dev", "eth0", "parent", "1:20", "handle", "20:", "pfifo", "limit", "0");
            }
        }
        apply(Set.of(), 0);
    }

    private static void tcCheck(final List<String> prefix, final String... args)
    {
        final List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(args));
        final Shell.Result r = Shell.run(command, null);
        if (!r.ok())
        {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + r.output());
        }
    }

    /**
     * Sends every packet between nodes through a {@link DelayRelay} on the bridge's address, for the
     * rest of the run: a DNAT rule in each node's namespace turns its packets to a peer's Raft port to
     * the relay (the answers come back through the sender's connection tracking), and from then on
     * cuts and random loss match the relay's ports instead of the peers' addresses.
     *
     * @param raftPort the nodes' Raft port
     * @param seed     seeds the relay's delays, drops and duplicates
     * @return the relay (closed with the lab)
     */
    synchronized DelayRelay startRelay(final int raftPort, final long seed)
    {
        if (cutter != Cutter.NFT)
        {
            throw new IllegalStateException("the delay relay needs nft (it cuts links by the relay's ports), not --cut-with tc");
        }
        final java.util.Map<Long, String> hosts = new java.util.TreeMap<>();
        for (long id = 1; id <= nodes; id++)
        {
            hosts.put(id, host(id));
        }
        relay = new DelayRelay(clientHost(), hosts, raftPort, seed);
        for (int i = 1; i <= nodes; i++)
        {
            final StringBuilder sb = new StringBuilder("table ip ringraft_relay {\n  chain output {\n" +
                "    type nat hook output priority -100; policy accept;\n");
            for (int j = 1; j <= nodes; j++)
            {
                if (j != i)
                {
                    sb.append("    ip daddr ").append(host(j)).append(" udp dport ").append(raftPort).append(" dnat to ")
                        .append(clientHost()).append(':').append(relay.entryPort(i, j)).append('\n');
                }
            }
            sb.append("  }\n}\n");
            final Shell.Result r = Shell.run(List.of("ip", "netns", "exec", namespace(i), "nft", "-f", "-"), sb.toString());
            if (!r.ok())
            {
                throw new IllegalStateException("nft (the relay's DNAT rules) in " + namespace(i) + " failed: " + r.output());
            }
        }
        return relay;
    }

    @Override
    public String host(final long id)
    {
        return address((int)id);
    }

    /** @return the address the clients in this process use (the bridge's) */
    String clientHost()
    {
        return address(254);
    }

    @Override
    public List<String> launchPrefix(final long id)
    {
        return List.of("ip", "netns", "exec", namespace((int)id));
    }

    @Override
    public boolean canCut()
    {
        return true;
    }

    @Override
    public boolean canDropRandomly()
    {
        return cutter == Cutter.NFT;
    }

    @Override
    public synchronized void apply(final Set<List<Long>> cuts, final int lossPercent)
    {
        if (closed)
        {
            return;
        }
        if (lossPercent > 0 && cutter != Cutter.NFT)
        {
            throw new IllegalStateException("random loss needs nft");
        }
        for (int i = 1; i <= nodes; i++)
        {
            if (cutter == Cutter.NFT)
            {
                final Shell.Result r = Shell.run(List.of("ip", "netns", "exec", namespace(i), "nft", "-f", "-"),
                    relay == null ? nftScript(i, nodes, address(0).substring(0, address(0).length() - 1), cuts, lossPercent) :
                    relayNftScript(i, nodes, clientHost(), relay::portsFrom, cuts, lossPercent));
                if (!r.ok())
                {
                    throw new IllegalStateException("nft in " + namespace(i) + " failed: " + r.output());
                }
            }
            else
            {
                final String ns = namespace(i);
                Shell.run("ip", "netns", "exec", ns, "tc", "filter", "del", "dev", "eth0", "parent", "1:", "prio", "1");
                for (final List<Long> cut : cuts)
                {
                    if (cut.get(0) == i)
                    {
                        Shell.check("ip", "netns", "exec", ns, "tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip",
                            "prio", "1", "u32", "match", "ip", "dst", host(cut.get(1)) + "/32", "flowid", "1:20");
                    }
                }
            }
        }
    }

    /**
     * The nftables ruleset of node {@code node}: it drops what comes from the nodes cut off from it,
     * and a share of what comes from the others.
     *
     * @param node        the node
     * @param nodes       how many nodes
     * @param prefix      the nodes' address without the last number ("10.213.7.")
     * @param cuts        the cut links, each {@code {from, to}}
     * @param lossPercent the share dropped at random
     * @return the script for {@code nft -f -}, replacing the table
     */
    static String nftScript(final int node, final int nodes, final String prefix, final Set<List<Long>> cuts, final int lossPercent)
    {
        final Set<String> from = new TreeSet<>();
        for (final List<Long> cut : cuts)
        {
            if (cut.get(1) == node)
            {
                from.add(prefix + cut.get(0));
            }
        }
        final Set<String> peers = new LinkedHashSet<>();
        for (int j = 1; j <= nodes; j++)
        {
            if (j != node)
            {
                peers.add(prefix + j);
            }
        }
        final StringBuilder sb = new StringBuilder();
        sb.append("table inet ringraft_nemesis\ndelete table inet ringraft_nemesis\n");
        sb.append("table inet ringraft_nemesis {\n  chain input {\n    type filter hook input priority 0; policy accept;\n");
        if (!from.isEmpty())
        {
            sb.append("    ip saddr { ").append(String.join(", ", from)).append(" } drop\n");
        }
        if (lossPercent > 0 && !peers.isEmpty())
        {
            sb.append("    ip saddr { ").append(String.join(", ", peers)).append(" } numgen random mod 100 < ").append(lossPercent)
                .append(" drop\n");
        }
        sb.append("  }\n}\n");
        return sb.toString();
    }

    /**
     * The nftables ruleset of node {@code node} when the packets between nodes pass the relay: they
     * all come from the relay's address, and which node sent one is told by the relay's port.
     *
     * @param node        the node
     * @param nodes       how many nodes
     * @param relayHost   the relay's address
     * @param portsFrom   the relay's ports that packets from one node reach another from
     * @param cuts        the cut links, each {@code {from, to}}
     * @param lossPercent the share dropped at random
     * @return the script for {@code nft -f -}, replacing the table
     */
    static String relayNftScript(final int node, final int nodes, final String relayHost,
        final java.util.function.BiFunction<Long, Long, List<Integer>> portsFrom, final Set<List<Long>> cuts, final int lossPercent)
    {
        final Set<Integer> cutPorts = new TreeSet<>();
        final Set<Integer> allPorts = new TreeSet<>();
        for (long j = 1; j <= nodes; j++)
        {
            if (j != node)
            {
                final List<Integer> ports = portsFrom.apply(j, (long)node);
                allPorts.addAll(ports);
                if (cuts.contains(List.of(j, (long)node)))
                {
                    cutPorts.addAll(ports);
                }
            }
        }
        final StringBuilder sb = new StringBuilder();
        sb.append("table inet ringraft_nemesis\ndelete table inet ringraft_nemesis\n");
        sb.append("table inet ringraft_nemesis {\n  chain input {\n    type filter hook input priority 0; policy accept;\n");
        if (!cutPorts.isEmpty())
        {
            sb.append("    ip saddr ").append(relayHost).append(" udp sport { ").append(join(cutPorts)).append(" } drop\n");
        }
        if (lossPercent > 0 && !allPorts.isEmpty())
        {
            sb.append("    ip saddr ").append(relayHost).append(" udp sport { ").append(join(allPorts)).append(" } numgen random mod 100 < ")
                .append(lossPercent).append(" drop\n");
        }
        sb.append("  }\n}\n");
        return sb.toString();
    }

    private static String join(final Set<Integer> ports)
    {
        final List<String> parts = new ArrayList<>();
        ports.forEach(p -> parts.add(Integer.toString(p)));
        return String.join(", ", parts);
    }

    @Override
    public String describe()
    {
        return "network namespaces " + namespace(1) + ".." + namespace(nodes) + " on bridge " + name("br") + " (" + address(0) +
            "/24), links cut with " + cutter.name().toLowerCase(Locale.ROOT) + cutterNote +
            (relay == null ? "" : ", packets between nodes through a user-space delay relay on " + clientHost());
    }

    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        if (relay != null)
        {
            relay.close();
        }
        try
        {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (final IllegalStateException | SecurityException ex)
        {
            // Running as the hook, or the JVM is exiting: clean up anyway.
        }
        remove(runId);
        try
        {
            Files.deleteIfExists(marker);
        }
        catch (final IOException ex)
        {
            System.err.println("nemesis: cannot remove " + marker + ": " + ex.getMessage());
        }
    }

    /** Removes what runs whose owner process is gone left behind: processes in their namespaces, the namespaces, links. */
    static void removeLeftovers(final java.util.function.Consumer<String> log)
    {
        final Set<String> runs = new TreeSet<>();
        for (final String line : Shell.run("ip", "netns", "list").output().split("\n"))
        {
            final String name = line.trim().split("\\s+")[0];
            if (name.startsWith(PREFIX))
            {
                runs.add(runIdOf(name));
            }
        }
        for (final String line : Shell.run("ip", "-o", "link", "show").output().split("\n"))
        {
            final String[] parts = line.split(":\\s+");
            if (parts.length > 1 && parts[1].startsWith(PREFIX))
            {
                runs.add(runIdOf(parts[1].split("@")[0]));
            }
        }
        for (final String run : runs)
        {
            if (!ownerAlive(run))
            {
                log.accept("nemesis: removing the leftovers of an earlier run (" + PREFIX + run + "-*)");
                remove(run);
            }
        }
    }

    private static String runIdOf(final String name)
    {
        final String rest = name.substring(PREFIX.length());
        final int dash = rest.indexOf('-');
        return dash < 0 ? rest : rest.substring(0, dash);
    }

    private static boolean ownerAlive(final String run)
    {
        try
        {
            final Path marker = markerDir().resolve(run + ".pid");
            if (!Files.exists(marker))
            {
                return false;
            }
            final long pid = Long.parseLong(Files.readString(marker, StandardCharsets.UTF_8).trim());
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
        catch (final IOException | NumberFormatException ex)
        {
            return false;
        }
    }

    private static void remove(final String run)
    {
        final String prefix = PREFIX + run + "-";
        for (final String line : Shell.run("ip", "netns", "list").output().split("\n"))
        {
            final String ns = line.trim().split("\\s+")[0];
            if (ns.startsWith(prefix))
            {
                for (final String pid : Shell.run("ip", "netns", "pids", ns).output().split("\\s+"))
                {
                    if (!pid.isBlank())
                    {
                        Shell.run("kill", "-9", pid.trim());
                    }
                }
                Shell.run("ip", "netns", "del", ns);
            }
        }
        for (final String line : Shell.run("ip", "-o", "link", "show").output().split("\n"))
        {
            final String[] parts = line.split(":\\s+");
            if (parts.length > 1 && parts[1].startsWith(prefix))
            {
                Shell.run("ip", "link", "del", parts[1].split("@")[0]);
            }
        }
        try
        {
            Files.deleteIfExists(markerDir().resolve(run + ".pid"));
        }
        catch (final IOException ex)
        {
            System.err.println("nemesis: cannot remove the marker of run " + run + ": " + ex.getMessage());
        }
    }

    private static Path markerDir()
    {
        return Path.of(System.getProperty("java.io.tmpdir"), "ringraft-nemesis");
    }

    /** A /24 in 10.213.x.0 that no interface or route of this machine uses. */
    private static int freeSubnet(final SplittableRandom random)
    {
        final String used = Shell.run("ip", "-4", "-o", "addr", "show").output() + "\n" + Shell.run("ip", "-4", "route", "show").output();
        for (int attempt = 0; attempt < 200; attempt++)
        {
            final int candidate = 1 + random.nextInt(250);
            if (!used.contains("10.213." + candidate + "."))
            {
                return candidate;
            }
        }
        throw new IllegalStateException("no free 10.213.x.0/24 subnet");
    }

    private String address(final int host)
    {
        return "10.213." + subnet + "." + host;
    }

    private String namespace(final int node)
    {
        return name("n" + node);
    }

    private String name(final String suffix)
    {
        return PREFIX + runId + "-" + suffix;
    }

    /** @return the names of this run's namespaces, for the report */
    List<String> namespaces()
    {
        final List<String> result = new ArrayList<>();
        for (int i = 1; i <= nodes; i++)
        {
            result.add(namespace(i));
        }
        return result;
    }
}
