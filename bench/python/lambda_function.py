"""The classic visitor counter (as the "cloud resume challenge" builds it): one
DynamoDB item, id = "visitorCount", incremented with UpdateItem ADD, its new value
returned to API Gateway. The comparison that scripts/bench runs beside the Rust
function, under the same Runtime API emulator, DynamoDB Local and CPU quota.

The table comes from COUNTER_TABLE and the endpoint from the SDK's own
AWS_ENDPOINT_URL_DYNAMODB, as for the Rust function.
"""

import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["COUNTER_TABLE"])


def lambda_handler(event, context):
    response = table.update_item(
        Key={"id": "visitorCount"},
        UpdateExpression="ADD #count :one",
        ExpressionAttributeNames={"#count": "count"},
        ExpressionAttributeValues={":one": 1},
        ReturnValues="UPDATED_NEW",
    )
    count = int(response["Attributes"]["count"])
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "Access-Control-Allow-Origin": "https://example.com",
        },
        "body": json.dumps({"count": count}),
    }
