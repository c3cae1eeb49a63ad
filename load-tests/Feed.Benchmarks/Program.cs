Console.Error.WriteLine("The benchmarks are being built.");
