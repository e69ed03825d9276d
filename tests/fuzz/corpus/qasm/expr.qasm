OPENQASM 2.0;
qreg q[1];
U(((((-(-(+(1)))))))^2/ln(exp(2)),sqrt(cos(tan(0.1))),1e-3) q[0];
