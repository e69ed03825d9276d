OPENQASM 2.0;
qreg q[2];
gate g0 a,b { CX a,b; }
gate g1 a,b { g0 a,b; g0 a,b; }
gate g2 a,b { g1 a,b; g1 a,b; }
gate g3 a,b,c { g2 a,b; g2 b,c; }
qreg r[1];
g3 q[0],q[1],r[0];
