from rmg_core import GradingRunner
from rmg_weighted_sum import WeightedSumAggregator
from rmg_similarity import SimilarityGrader
from rmg_relevance import RelevanceGrader

async def rm_gallery_aggregated_eval_worker():
    """
    Worker function that performs evaluation with result aggregation.

    This demonstrates how to use RM-Gallery's built-in aggregation capabilities
    to compute composite scores from multiple metrics.
    """
    # Initialize runner with graders and aggregators
    # Aggregators automatically combine results according to specified rules
    runner = GradingRunner(
        grader_configs={
            "similarity": SimilarityGrader(algorithm="cosine"),
            "relevance": RelevanceGrader(),
        },
        max_concurrency=10,
        # Add aggregators for result combination
        # This computes a weighted sum of the individual metrics
        aggregators=[
            WeightedSumAggregator(weights={"similarity": 0.6, "relevance": 0.4})
        ]
    )

    # Simulate fetching pending trace data
    traces = fetch_pending_traces()

    # Prepare evaluation data in batch format
    evaluation_data = []
    trace_mapping = {}

    for i, trace in enumerate(traces):
        trace_id = trace["id"]
        input_data = trace["input"]
        output_data = trace["output"]
        expected_data = trace.get("expected")

        # Prepare data for RM-Gallery evaluation
        eval_item = {
            "input": input_data,
            "prediction": output_data,
        }

        if expected_data:
            eval_item["reference"] = expected_data

        evaluation_data.append(eval_item)
        trace_mapping[i] = trace_id

    # Check if there's any data to evaluate
    if not evaluation_data:
        print("No traces to evaluate")
        return

    try:
        # Execute RM-Gallery batch evaluation with aggregation
        # The runner automatically applies aggregators to the results
        batch_results = await runner.arun(evaluation_data)

        # Process individual grader results
        # These are the raw results from each grader
        for grader_name, grader_results in batch_results.items():
            for i, result in enumerate(grader_results):
                trace_id = trace_mapping[i]

                if isinstance(result, (GraderScore, GraderRank)):
                    langfuse.score(
                        trace_id=trace_id,
                        name=grader_name,
                        value=getattr(result, 'score', getattr(result, 'rank', 0)),
                        comment=getattr(result, 'reason', '')
                    )
                elif isinstance(result, GraderError):
                    langfuse.score(
                        trace_id=trace_id,
                        name=grader_name,
                        value=0.0,
                        comment=f"Error: {result.error}"
                    )

        # Process aggregated results
        # These are the composite scores computed by the aggregators
        for key in batch_results.keys():
            if key.startswith("aggregated_"):
                # Extract the aggregator name from the key
                agg_name = key[len("aggregated_"):]
                for i, result in enumerate(batch_results[key]):
                    trace_id = trace_mapping[i]

                    if isinstance(result, (GraderScore, GraderRank)):
                        langfuse.score(
                            trace_id=trace_id,
                            name=agg_name,
                            value=getattr(result, 'score', getattr(result, 'rank', 0)),
                            comment=getattr(result, 'reason', '')
                        )
                    elif isinstance(result, GraderError):
                        langfuse.score(
                            trace_id=trace_id,
                            name=agg_name,
                            value=0.0,
                            comment=f"Aggregation error: {result.error}"
                        )

        print(f"Successfully evaluated {len(traces)} traces with graders and aggregators")

    except Exception as e:
        # Handle any errors during aggregated batch evaluation
        print(f"Error in aggregated batch evaluation: {str(e)}")

# Run aggregated batch evaluation worker
# Uncomment to run the aggregated evaluation
# if __name__ == "__main__":
#     asyncio.run(rm_gallery_aggregated_eval_worker())
