"""The Spark engine (``data.engine = "spark"``): the data side of the gated run on Apache Spark.

PySpark is an optional extra (``mlgate[spark]``) and is imported only here, only when the engine is chosen.
"""
