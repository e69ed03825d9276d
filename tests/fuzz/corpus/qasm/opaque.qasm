OPENQASM 2.0;
opaque o(t) a;
qreg q[1];
creg c[1];
measure q[0] -> c[0];
