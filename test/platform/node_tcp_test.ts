import { createNodeTcp } from "../../src/platform/node_tcp.ts";
import { tcpConformance } from "./_tcp_conformance.ts";

tcpConformance("node", createNodeTcp);
